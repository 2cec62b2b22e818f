import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import * as D from "../../src/config/defaults.ts";
import { ConfigError } from "../../src/config/errors.ts";
import { loadWorkerConfig } from "../../src/config/load-config.ts";
import { parseWorkerConfig } from "../../src/config/parse-config.ts";

const sender = { senderId: "123", apiKey: "super-secret-key" };

function problems(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("worker config", () => {
  it("resolves documented defaults", () => {
    const c = parseWorkerConfig({ senders: [sender] }, { env: {}, defaultWorkerId: "w1" });
    expect(c.workerId).toBe("w1");
    expect(c.nats.servers).toEqual(D.DEFAULT_NATS_SERVERS);
    expect(c.subjectPrefix).toBe("ccs");
    expect(c.streams.down).toMatchObject({
      name: "CCS_DOWN",
      replicas: 1,
      storage: "file",
      duplicateWindowMs: 120_000,
    });
    expect(c.streams.outcomes.maxAgeMs).toBe(D.DEFAULT_OUTCOME_MAX_AGE_MS);
    expect(c.connection.windowSize).toBe(100);
    expect(c.retry.serviceUnavailable.baseMs).toBe(1000);
    expect(c.senders[0]?.connections).toBe(D.DEFAULT_CONNECTIONS_PER_SENDER);
    expect(c.senders[0]?.apiKey.reveal()).toBe("super-secret-key");
    expect(Object.isFrozen(c.streams.down)).toBe(true);
  });

  it("names a bad Redis URL without echoing its password", () => {
    const parse = () =>
      parseWorkerConfig(
        { senders: [sender], cluster: { redisUrls: "http://:pw-not-for-logs@host:6379" } },
        { env: {}, defaultWorkerId: "w1" },
      );
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(/cluster\.redisUrls/);
    expect(parse).not.toThrow(/pw-not-for-logs/);
  });

  it("derives default stream names from the subject prefix (as libs/cluster does)", () => {
    const c = parseWorkerConfig({ subjectPrefix: "acme.push", senders: [sender] }, { env: {} });
    expect([c.streams.down.name, c.streams.outcomes.name, c.streams.upstream.name]).toEqual([
      "ACME_PUSH_DOWN",
      "ACME_PUSH_OUTCOMES",
      "ACME_PUSH_INTERNAL_UP",
    ]);
  });

  it("never shows API keys in JSON, inspect or strings", () => {
    const c = parseWorkerConfig({ senders: [sender] }, { env: {} });
    expect(JSON.stringify(c)).not.toContain("super-secret-key");
    expect(inspect(c, { depth: 10 })).not.toContain("super-secret-key");
    expect(`${c.senders[0]?.apiKey}`).not.toContain("super-secret-key");
  });

  it("reads the key from a file or an env variable, and reports missing ones without their values", () => {
    const c = parseWorkerConfig(
      {
        senders: [
          { senderId: "1", apiKeyFile: "/keys/1" },
          { senderId: "2", apiKeyEnv: "KEY_2" },
        ],
      },
      { env: { KEY_2: "k2\n" }, readFile: () => "k1\n" },
    );
    expect(c.senders.map((s) => s.apiKey.reveal())).toEqual(["k1", "k2"]);
    const p = problems(() =>
      parseWorkerConfig({ senders: [{ senderId: "1", apiKeyEnv: "NOPE" }] }, { env: {} }),
    );
    expect(p).toEqual(["senders[0].apiKeyEnv: environment variable NOPE is not set or empty"]);
  });

  it("rejects conflicts with clear messages, all at once", () => {
    const p = problems(() =>
      parseWorkerConfig(
        {
          nats: { user: "u", token: "t" },
          senders: [
            { senderId: "1", apiKey: "a", apiKeyEnv: "B" },
            { senderId: "2", apiKey: "a" },
            { senderId: "2", apiKey: "b" },
            { senderId: "bad.id", apiKey: "c" },
          ],
          shutdown: { graceMs: 5000, forceMs: 1000 },
          connection: { windowSize: 0 },
          streams: { outcomes: { name: "CCS_DOWN" } },
          retry: { serviceUnavailable: { baseMs: 5000, maxMs: 100 } },
        },
        { env: {} },
      ),
    );
    expect(p).toEqual(
      expect.arrayContaining([
        "nats: user and pass go together: set both or neither",
        "nats: choose one authentication method: user/pass, token or credsFile",
        "senders[0]: set exactly one of apiKey, apiKeyFile, apiKeyEnv (got apiKey, apiKeyEnv)",
        "senders[2].senderId: duplicate sender 2",
        "shutdown: forceMs (1000) must be greater than graceMs (5000)",
        "connection.windowSize: must be an integer in [1, 1000], got 0",
        "streams: down, outcomes and upstream need three different names, got CCS_DOWN, CCS_DOWN, CCS_INTERNAL_UP",
        "retry.serviceUnavailable: maxMs (100) must be at least baseMs (5000)",
      ]),
    );
    expect(p.some((x) => x.startsWith("senders[3].senderId"))).toBe(true);
    expect(p.join("\n")).not.toContain('a"'); // no key values
  });

  it("loads env over the JSON file", () => {
    const c = loadWorkerConfig({
      CCS_NATS_SERVERS: "nats://a:4222, nats://b:4222",
      CCS_SUBJECT_PREFIX: "push",
      CCS_PORT: "5236",
      CCS_TLS_VERIFY: "false",
      CCS_SENDERS: JSON.stringify([{ senderId: "9", apiKeyEnv: "K9", connections: 3 }]),
      K9: "key9",
      CCS_SHUTDOWN_GRACE_MS: "3000",
    });
    expect(c.nats.servers).toEqual(["nats://a:4222", "nats://b:4222"]);
    expect(c.subjectPrefix).toBe("push");
    expect(c.ccs).toMatchObject({ port: 5236, rejectUnauthorized: false });
    expect(c.senders[0]).toMatchObject({ senderId: "9", connections: 3 });
    expect(c.shutdown.graceMs).toBe(3000);
    expect(problems(() => loadWorkerConfig({ CCS_PORT: "abc" }))).toEqual([
      'CCS_PORT: must be an integer, got "abc"',
    ]);
    expect(problems(() => loadWorkerConfig({ CCS_WORKER_CONFIG: "/nonexistent/x.json" }))[0]).toMatch(
      /cannot load \/nonexistent\/x.json \(ENOENT\)/,
    );
  });
});
