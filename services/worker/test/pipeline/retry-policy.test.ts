import { NACK_CODES } from "@ccs/ccs-protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  decide,
  type RetryCounts,
  type RetryPolicyConfig,
} from "../../src/pipeline/retry-policy.ts";

const policy: RetryPolicyConfig = { ...DEFAULT_RETRY_POLICY, jitter: 0 };
const nack = (code: string) => ({ kind: "nack" as const, code });

describe("retry policy", () => {
  it("defaults: SERVICE_UNAVAILABLE backoff starts at 1000 ms", () => {
    expect(DEFAULT_RETRY_POLICY.serviceUnavailable.baseMs).toBe(1000);
  });

  it("ack is final, with the canonical id when given", () => {
    expect(decide({ kind: "ack" }, {}, policy)).toEqual({ kind: "acked" });
    expect(decide({ kind: "ack", canonicalRegistrationId: "new" }, {}, policy)).toEqual({
      kind: "acked",
      canonicalRegistrationId: "new",
    });
  });

  it("SERVICE_UNAVAILABLE: same connection, 1 s doubling, bounded", () => {
    const delays: number[] = [];
    let retries: RetryCounts = {};
    for (;;) {
      const d = decide(nack("SERVICE_UNAVAILABLE"), retries, policy);
      if (d.kind !== "retry") {
        expect(d).toMatchObject({ kind: "nacked", code: "SERVICE_UNAVAILABLE" });
        break;
      }
      expect(d.route).toBe("same-connection");
      delays.push(d.delayMs);
      retries = { ...retries, [d.reason]: (retries[d.reason] ?? 0) + 1 };
    }
    expect(delays.slice(0, 4)).toEqual([1000, 2000, 4000, 8000]);
    expect(delays).toHaveLength(policy.serviceUnavailable.maxRetries);
    expect(Math.max(...delays)).toBeLessThanOrEqual(policy.serviceUnavailable.maxMs);
  });

  it("CONNECTION_DRAINING: another connection, at once, bounded", () => {
    expect(decide(nack("CONNECTION_DRAINING"), {}, policy)).toMatchObject({
      kind: "retry",
      route: "other-connection",
      delayMs: 0,
      reason: "draining",
    });
    expect(decide(nack("CONNECTION_DRAINING"), { draining: policy.drainingMaxRetries }, policy).kind).toBe(
      "nacked",
    );
  });

  it("rate exceeded: slower (longer than SERVICE_UNAVAILABLE), any connection", () => {
    for (const code of ["DEVICE_MESSAGE_RATE_EXCEEDED", "QUOTA_EXCEEDED"]) {
      const d = decide(nack(code), {}, policy);
      expect(d).toMatchObject({ kind: "retry", reason: "device-rate", route: "any-connection" });
      if (d.kind === "retry") expect(d.delayMs).toBeGreaterThan(policy.serviceUnavailable.baseMs);
    }
    expect(decide(nack("QUOTA_EXCEEDED"), { "device-rate": policy.deviceRate.maxRetries }, policy).kind).toBe(
      "nacked",
    );
  });

  it("INTERNAL_SERVER_ERROR and unknown codes: bounded backoff, then nacked with the code as sent", () => {
    for (const code of ["INTERNAL_SERVER_ERROR", "BRAND_NEW_CODE", ""]) {
      const d = decide(nack(code), {}, policy);
      expect(d).toMatchObject({ kind: "retry", reason: "internal-error" });
      const last = decide(nack(code), { "internal-error": policy.internalError.maxRetries }, policy);
      expect(last).toMatchObject({ kind: "nacked", code });
    }
  });

  it("every code the table marks final is final at once", () => {
    for (const [code, info] of Object.entries(NACK_CODES)) {
      const d = decide(nack(code), {}, policy);
      expect(d.kind === "retry", code).toBe(info.retry !== "none");
    }
  });

  it("stanza error is final", () => {
    const error = { code: "400", type: "modify", condition: "bad-request" };
    expect(decide({ kind: "stanza-error", error }, {}, policy)).toEqual({ kind: "stanza-error", error });
  });

  it("lost: resend at once on another connection, then hand back", () => {
    expect(decide({ kind: "lost", reason: "answer-timeout" }, {}, policy)).toMatchObject({
      kind: "retry",
      route: "other-connection",
      delayMs: 0,
      reason: "lost",
    });
    expect(
      decide({ kind: "lost", reason: "connection-closed" }, { lost: policy.lostMaxRetries }, policy),
    ).toEqual({
      kind: "release",
      reason: "lost-limit",
    });
  });

  it("nacked outcome counts all retries spent", () => {
    expect(decide(nack("BAD_REGISTRATION"), { lost: 1, draining: 2 }, policy)).toMatchObject({ retries: 3 });
  });

  it("backoff delay stays within jitter bounds and the cap", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 60 }), fc.double({ min: 0, max: 0.999, noNaN: true }), (n, r) => {
        const b = { baseMs: 1000, maxMs: 60_000, maxRetries: 10 };
        const raw = Math.min(60_000, 1000 * 2 ** n);
        const d = backoffDelay(b, n, 0.1, () => r);
        return d >= Math.floor(raw * 0.9) && d <= Math.ceil(raw * 1.1);
      }),
    );
  });
});
