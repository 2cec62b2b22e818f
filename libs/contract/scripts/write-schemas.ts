// Writes the contract's JSON Schemas to libs/contract/schemas/ (run after changing src/json-schemas.ts).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { JSON_SCHEMA_FILES } from "../src/json-schemas.ts";

const dir = join(import.meta.dirname, "..", "schemas");
for (const [file, schema] of Object.entries(JSON_SCHEMA_FILES)) {
  writeFileSync(join(dir, file), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote schemas/${file}`);
}
