// The JSON Schemas app servers (in any language) validate with: the files in schemas/ are the documents
// in src/json-schemas.ts, and records as the cluster produces them are valid (and broken ones are not).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import {
  JSON_SCHEMA_FILES,
  OUTCOME_JSON_SCHEMA,
  type Outcome,
  RECEIPT_JSON_SCHEMA,
  UPSTREAM_MESSAGE_JSON_SCHEMA,
} from "../src/index.ts";

const ajv = new Ajv2020({ strict: true, allErrors: true, validateFormats: false });

const outcome: Outcome = {
  v: 1,
  message_id: "order-42",
  sender_id: "123456789012",
  to: "device-token",
  status: "nacked",
  code: "DEVICE_UNREGISTERED",
  description: "gone",
  token_action: "remove",
  attempts: 1,
  retries: 0,
  deliveries: 1,
  published_at: "2026-12-04T10:00:00.000Z",
  first_sent_at: "2026-12-04T10:00:00.005Z",
  completed_at: "2026-12-04T10:00:00.020Z",
  latency_ms: 20,
  connection_id: "123456789012/0/1",
  worker_id: "worker-1",
  slot: "123456789012:0",
  fencing_token: 1796404597977,
};

describe("JSON Schemas", () => {
  it("schemas/*.schema.json are the documents of src/json-schemas.ts", () => {
    for (const [file, schema] of Object.entries(JSON_SCHEMA_FILES)) {
      const onDisk: unknown = JSON.parse(
        readFileSync(join(import.meta.dirname, "..", "schemas", file), "utf8"),
      );
      expect(onDisk, `${file}: run node libs/contract/scripts/write-schemas.ts`).toEqual(schema);
    }
  });

  it("accepts an outcome and refuses one with a wrong status, a missing field or an unknown field", () => {
    const validate = ajv.compile(OUTCOME_JSON_SCHEMA);
    expect(validate(outcome), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...outcome, status: "delivered" })).toBe(false);
    const { worker_id: _dropped, ...missing } = outcome;
    expect(validate(missing)).toBe(false);
    expect(validate({ ...outcome, extra: 1 })).toBe(false);
    expect(validate({ ...outcome, to: null, token_action: undefined })).toBe(true);
  });

  it("accepts CCS's upstream message and receipt JSON, and refuses one as the other", () => {
    const upstream = ajv.compile(UPSTREAM_MESSAGE_JSON_SCHEMA);
    const receipt = ajv.compile(RECEIPT_JSON_SCHEMA);
    const up = {
      category: "com.example.app",
      data: { hello: "world" },
      message_id: "1",
      from: "device-token",
      time_to_live: 600,
    };
    // As the reference documents show a receipt (000), with the captured extra fields.
    const dr = {
      category: "com.example.app",
      data: {
        message_status: "MESSAGE_SENT_TO_DEVICE",
        original_message_id: "order-42",
        device_registration_id: "device-token",
        message_sent_timestamp: "1764842400000",
      },
      message_id: "dr2:order-42",
      message_type: "receipt",
      from: "gcm.googleapis.com",
      time_to_live: 0,
    };
    expect(upstream(up), JSON.stringify(upstream.errors)).toBe(true);
    expect(receipt(dr), JSON.stringify(receipt.errors)).toBe(true);
    expect(upstream(dr)).toBe(false);
    expect(receipt(up)).toBe(false);
    expect(upstream({ ...up, data: { n: 1 } })).toBe(false);
  });
});
