import { describe, expect, it } from "vitest";
import {
  applyRuntimePatch,
  DEFAULT_ADMIN_PORT,
  DEFAULT_PENDING_LIMIT,
  DEFAULT_PORT,
  DEMO_SENDER,
  resolveConfig,
} from "../../src/config.ts";
import { InvalidOptionError } from "../../src/errors.ts";

describe("resolveConfig", () => {
  it("fills every default", () => {
    const c = resolveConfig({ seed: 7 });
    expect(c.host).toBe("127.0.0.1");
    expect(c.port).toBe(DEFAULT_PORT);
    expect(c.adminHost).toBe("127.0.0.1");
    expect(c.adminPort).toBe(DEFAULT_ADMIN_PORT);
    expect(c.senders).toEqual([DEMO_SENDER]);
    expect(c.tls).toBeNull();
    expect(c.certOut).toBeNull();
    expect(c.seed).toBe(7);
    expect(c.keepaliveIntervalMs).toBe(30_000);
    expect(c.maxConnectionsPerSender).toBe(1000);
    expect(c.runtime).toEqual({
      ackLatency: { kind: "fixed", ms: 0 },
      pendingLimit: DEFAULT_PENDING_LIMIT,
      strictPendingLimit: false,
      deviceRateLimit: null,
      autoRegisterDevices: true,
      drainGraceMs: 5000,
      upstreamMaxUnacked: 100,
    });
  });

  it("draws a seed when none is given", () => {
    const c = resolveConfig();
    expect(Number.isInteger(c.seed)).toBe(true);
  });

  it("does not mutate the caller's options", () => {
    const options = Object.freeze({
      port: 0,
      senders: Object.freeze([Object.freeze({ senderId: "1", apiKey: "k" })]),
    });
    expect(() => resolveConfig(options as never)).not.toThrow();
  });

  it.each([
    [{ port: -1 }, "options.port"],
    [{ port: 70_000 }, "options.port"],
    [{ adminPort: 1.5 }, "options.adminPort"],
    [{ pendingLimit: 0 }, "options.pendingLimit"],
    [{ senders: [] }, "options.senders"],
    [{ senders: [{ senderId: "a b", apiKey: "k" }] }, "senderId"],
    [{ ackLatency: { kind: "uniform", minMs: 5, maxMs: 1 } }, "maxMs"],
    [{ ackLatency: { kind: "gaussian" } }, "kind"],
    [{ deviceRateLimit: { messages: 0, perMs: 10 } }, "messages"],
    [{ tls: { certPem: "nope", keyPem: "nope" } }, "certPem"],
    [{ bogus: true }, 'unknown field "bogus"'],
  ])("rejects %j", (options, fragment) => {
    expect(() => resolveConfig(options as never)).toThrow(InvalidOptionError);
    expect(() => resolveConfig(options as never)).toThrow(fragment);
  });

  it("rejects a sender listed twice", () => {
    expect(() =>
      resolveConfig({
        senders: [
          { senderId: "1", apiKey: "a" },
          { senderId: "1", apiKey: "b" },
        ],
      }),
    ).toThrow(/listed twice/);
  });

  it("never puts an API key in an error message", () => {
    const secret = "s3cret\nkey";
    try {
      resolveConfig({ senders: [{ senderId: "1", apiKey: secret }] });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain("s3cret");
    }
  });

  it("rejects an upstream generator naming an unknown sender", () => {
    expect(() =>
      resolveConfig({
        upstreamGenerator: { ratePerSecond: 1, devices: ["d"], categories: ["c"], senderId: "999" },
      }),
    ).toThrow(/unknown sender/);
  });
});

describe("applyRuntimePatch", () => {
  const base = resolveConfig({ seed: 1 }).runtime;

  it("changes only the given settings and leaves the input alone", () => {
    const next = applyRuntimePatch(base, { pendingLimit: 5, deviceRateLimit: { messages: 2, perMs: 1000 } });
    expect(next.pendingLimit).toBe(5);
    expect(next.deviceRateLimit).toEqual({ messages: 2, perMs: 1000 });
    expect(next.drainGraceMs).toBe(base.drainGraceMs);
    expect(base.pendingLimit).toBe(DEFAULT_PENDING_LIMIT);
  });

  it("turns the rate limit off with null", () => {
    const on = applyRuntimePatch(base, { deviceRateLimit: { messages: 2, perMs: 1000 } });
    expect(applyRuntimePatch(on, { deviceRateLimit: null }).deviceRateLimit).toBeNull();
  });

  it("rejects unknown and invalid settings", () => {
    expect(() => applyRuntimePatch(base, { port: 1 })).toThrow(/unknown field/);
    expect(() => applyRuntimePatch(base, { strictPendingLimit: "yes" })).toThrow(InvalidOptionError);
    expect(() => applyRuntimePatch(base, null)).toThrow(InvalidOptionError);
  });
});
