// The senders file as workers and coordinators both read it: one schema, one default, one sender-id rule,
// and the published JSON Schema accepts the same documents.
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONNECTIONS_PER_SENDER, JSON_SCHEMA_FILES, sendersFileSchema } from "../src/index.ts";

const problems = (doc: unknown): string[] => {
  const r = sendersFileSchema.safeParse(doc);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("senders file", () => {
  it("takes the document or a bare array and defaults connections to the contract's 2", () => {
    const entry = { senderId: "123456789012", apiKeyEnv: "KEY" };
    expect(sendersFileSchema.parse({ senders: [entry] })).toEqual([{ ...entry, connections: 2 }]);
    expect(sendersFileSchema.parse([entry])).toEqual([{ ...entry, connections: 2 }]);
    expect(DEFAULT_CONNECTIONS_PER_SENDER).toBe(2);
  });

  it("reports every problem with its path, never quoting a key", () => {
    const found = problems({
      senders: [
        { senderId: "has space", apiKey: "s3cr3t-key", apiKeyEnv: "K", connections: 1001 },
        { senderId: "ok", rate: 0, apiKeyFile: "/k", extra: true },
      ],
    });
    expect(found).toEqual([
      expect.stringMatching(/^senders\.0\.senderId: must be 1-128/),
      expect.stringMatching(/^senders\.0\.connections: Too big/),
      "senders.0: set exactly one of apiKey, apiKeyFile, apiKeyEnv (got apiKey, apiKeyEnv)",
      expect.stringMatching(/^senders\.1\.rate: Too small/),
      expect.stringMatching(/^senders\.1: Unrecognized key: "extra"/),
    ]);
    expect(found.join("\n")).not.toContain("s3cr3t-key");
  });

  it("rejects a sender configured twice and a document without senders", () => {
    const e = { senderId: "a", apiKey: "k" };
    expect(problems({ senders: [e, e] })).toEqual(["senders.1.senderId: duplicate sender a"]);
    expect(problems({ sender: [] })).toHaveLength(2);
  });

  it("the published JSON Schema accepts a valid file and rejects an unknown field", () => {
    const validate = new Ajv2020({ strict: false }).compile(
      JSON_SCHEMA_FILES["senders-file.schema.json"] ?? {},
    );
    expect(validate({ senders: [{ senderId: "1", apiKeyEnv: "K", connections: 4, rate: 50 }] })).toBe(true);
    expect(validate({ senders: [{ senderId: "1", apiKeyEnv: "K", bogus: 1 }] })).toBe(false);
  });
});
