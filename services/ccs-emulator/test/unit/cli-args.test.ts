import { describe, expect, it } from "vitest";
import { FLAGS, parseCliArgs, parseLatencySpec, parseRateLimit, usage } from "../../src/cli-args.ts";
import { InvalidOptionError } from "../../src/errors.ts";

describe("parseCliArgs", () => {
  it("gives no options when nothing is set (defaults come from resolveConfig)", () => {
    const r = parseCliArgs([], {});
    expect(r.options).toEqual({});
    expect(r.help).toBe(false);
    expect(r.logLevel).toBe("info");
    expect(r.tlsCertFile).toBeNull();
  });

  it("reads every flag", () => {
    const r = parseCliArgs(
      [
        "--host=0.0.0.0",
        "--port",
        "0",
        "--admin-port",
        "0",
        "--sender",
        "111:key-a",
        "--sender",
        "222:key:with:colons",
        "--cert-out",
        "/tmp/x.pem",
        "--pending-limit",
        "1000",
        "--strict-pending-limit",
        "--seed",
        "42",
        "--ack-latency",
        "uniform:1-5",
        "--keepalive-interval-ms",
        "0",
        "--max-connections-per-sender",
        "3",
        "--auto-register-devices",
        "false",
        "--device-rate-limit",
        "10/1000",
        "--drain-grace-ms",
        "100",
        "--upstream-max-unacked",
        "7",
        "--random-drain",
        "0.5",
        "--upstream-rate",
        "20",
        "--upstream-devices",
        "devicetoken1,devicetoken2",
      ],
      {},
    );
    expect(r.options).toEqual({
      host: "0.0.0.0",
      port: 0,
      adminPort: 0,
      senders: [
        { senderId: "111", apiKey: "key-a" },
        { senderId: "222", apiKey: "key:with:colons" },
      ],
      certOut: "/tmp/x.pem",
      pendingLimit: 1000,
      strictPendingLimit: true,
      seed: 42,
      ackLatency: { kind: "uniform", minMs: 1, maxMs: 5 },
      keepaliveIntervalMs: 0,
      maxConnectionsPerSender: 3,
      autoRegisterDevices: false,
      deviceRateLimit: { messages: 10, perMs: 1000 },
      drainGraceMs: 100,
      upstreamMaxUnacked: 7,
      randomDrain: { perConnectionPerMinute: 0.5 },
      upstreamGenerator: {
        ratePerSecond: 20,
        devices: ["devicetoken1", "devicetoken2"],
        categories: ["com.example.app"],
      },
    });
  });

  it("reads the environment twins, and a flag wins over its variable", () => {
    const env = {
      CCS_EMULATOR_HOST: "::1",
      CCS_EMULATOR_PORT: "6000",
      CCS_EMULATOR_ADMIN_PORT: "6001",
      CCS_EMULATOR_SENDERS: "1:a, 2:b",
      CCS_EMULATOR_TLS_CERT: "/c.pem",
      CCS_EMULATOR_TLS_KEY: "/k.pem",
      CCS_EMULATOR_CERT_OUT: "/out.pem",
      CCS_EMULATOR_PENDING_LIMIT: "5",
      CCS_EMULATOR_SEED: "9",
      CCS_EMULATOR_STRICT_PENDING_LIMIT: "true",
    };
    const r = parseCliArgs(["--port", "7000"], env);
    expect(r.options.port).toBe(7000);
    expect(r.options.host).toBe("::1");
    expect(r.options.adminPort).toBe(6001);
    expect(r.options.senders).toEqual([
      { senderId: "1", apiKey: "a" },
      { senderId: "2", apiKey: "b" },
    ]);
    expect(r.tlsCertFile).toBe("/c.pem");
    expect(r.tlsKeyFile).toBe("/k.pem");
    expect(r.options.certOut).toBe("/out.pem");
    expect(r.options.pendingLimit).toBe(5);
    expect(r.options.seed).toBe(9);
    expect(r.options.strictPendingLimit).toBe(true);
  });

  it("has an environment variable for every value flag", () => {
    for (const f of FLAGS) if (f.flag !== "help") expect(f.env, f.flag).toMatch(/^CCS_EMULATOR_[A-Z_]+$/);
    expect(usage()).toContain("--pending-limit");
  });

  it.each([
    [["--port", "abc"], /--port must be an integer/],
    [["--nope"], /nope/],
    [["--sender", "no-colon"], /SENDER_ID:API_KEY/],
    [["--tls-cert", "/c.pem"], /go together/],
    [["--ack-latency", "sometimes"], /--ack-latency/],
    [["--device-rate-limit", "10"], /MESSAGES\/MS/],
    [["--auto-register-devices", "maybe"], /true or false/],
    [["--upstream-devices", "a"], /need --upstream-rate/],
    [["--log-level", "loud"], /--log-level/],
  ])("rejects %j", (argv, message) => {
    expect(() => parseCliArgs(argv, {})).toThrow(InvalidOptionError);
    expect(() => parseCliArgs(argv, {})).toThrow(message);
  });

  it("never echoes an API key in an error", () => {
    try {
      parseCliArgs(["--sender", "bad id:topsecret"], {});
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).not.toContain("topsecret");
    }
  });
});

describe("value specs", () => {
  it("parses latency distributions", () => {
    expect(parseLatencySpec("5")).toEqual({ kind: "fixed", ms: 5 });
    expect(parseLatencySpec("fixed:0")).toEqual({ kind: "fixed", ms: 0 });
    expect(parseLatencySpec("exponential:10")).toEqual({ kind: "exponential", meanMs: 10 });
    expect(parseLatencySpec("exponential:10:50")).toEqual({ kind: "exponential", meanMs: 10, maxMs: 50 });
  });

  it("parses rate limits", () => {
    expect(parseRateLimit(" 3 / 250 ")).toEqual({ messages: 3, perMs: 250 });
    expect(() => parseRateLimit("0/10")).toThrow(InvalidOptionError);
  });
});
