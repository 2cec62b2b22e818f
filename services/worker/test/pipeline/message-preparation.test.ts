import { TTL_MAX_SECONDS } from "@ccs/ccs-protocol";
import { describe, expect, it } from "vitest";
import {
  checkTtl,
  generatedMessageId,
  prepareMessage,
  type WorkEnvelope,
} from "../../src/pipeline/message-preparation.ts";

const enc = new TextEncoder();
const limits = { maxPayloadBytes: 4096 * 4, maxDeliveries: 5 };
const TOKEN = `abc:APA91b${"x".repeat(100)}`;

function env(body: unknown, extra: Partial<WorkEnvelope> = {}): WorkEnvelope {
  return {
    data: enc.encode(typeof body === "string" ? body : JSON.stringify(body)),
    streamSeq: 42,
    publishedAtMs: 1_700_000_000_000,
    deliveryCount: 1,
    ...extra,
  };
}

describe("message preparation", () => {
  it("keeps a valid request and its message_id", () => {
    const p = prepareMessage(env({ to: TOKEN, message_id: "m1", data: { a: "b" } }), limits);
    expect(p).toMatchObject({ kind: "send", messageId: "m1", to: TOKEN, ttlSeconds: TTL_MAX_SECONDS });
  });

  it("generates a message_id that is stable across redeliveries", () => {
    const a = prepareMessage(env({ to: TOKEN }), limits);
    const b = prepareMessage(env({ to: TOKEN }, { deliveryCount: 3 }), limits);
    expect(a.messageId).toBe(b.messageId);
    expect(a.messageId).toBe(generatedMessageId({ streamSeq: 42, publishedAtMs: 1_700_000_000_000 }));
    const other = prepareMessage(env({ to: TOKEN }, { streamSeq: 43 }), limits);
    expect(other.messageId).not.toBe(a.messageId);
    expect(prepareMessage(env({ to: TOKEN, message_id: "" }, { msgIdHeader: "hdr" }), limits).messageId).toBe(
      "hdr",
    );
    expect(prepareMessage(env({ to: TOKEN, message_id: null }), limits).kind).toBe("send");
  });

  it("rejects unparseable JSON with the stanza error CCS would give", () => {
    const p = prepareMessage(env("{oops"), limits);
    expect(p.kind).toBe("final");
    if (p.kind === "final") {
      expect(p.verdict).toMatchObject({ status: "rejected", by: "worker", code: "STANZA_ERROR" });
      if (p.verdict.status === "rejected") {
        expect(p.verdict.stanzaError).toMatchObject({
          code: "400",
          type: "modify",
          condition: "bad-request",
        });
        expect(p.verdict.description).toMatch(/JSON_PARSING_ERROR/);
      }
    }
  });

  it("rejects wrong types with CCS's INVALID_JSON text", () => {
    const p = prepareMessage(env({ to: TOKEN, message_id: "m", time_to_live: "abc" }), limits);
    expect(p).toMatchObject({ kind: "final", messageId: "m", to: TOKEN });
    if (p.kind === "final") {
      expect(p.verdict).toMatchObject({ status: "rejected", code: "INVALID_JSON" });
      if (p.verdict.status === "rejected") {
        expect(p.verdict.description).toBe(
          'InvalidJson: JSON_TYPE_ERROR : Field "time_to_live" must be a JSON java.lang.Number: abc',
        );
      }
    }
  });

  it("rejects a malformed token as BAD_REGISTRATION", () => {
    const p = prepareMessage(env({ to: "bad token", message_id: "m" }), limits);
    if (p.kind !== "final" || p.verdict.status !== "rejected") throw new Error("expected a rejection");
    expect(p.verdict.code).toBe("BAD_REGISTRATION");
    expect(p.verdict.description).toBe("Invalid token on 'to' field: bad token");
  });

  it("rejects oversize payloads before anything else, keeping the producer's id when readable", () => {
    const p = prepareMessage(env({ to: TOKEN, message_id: "big", data: { x: "y".repeat(20_000) } }), limits);
    expect(p).toMatchObject({ kind: "final", messageId: "big", verdict: { code: "PAYLOAD_TOO_LARGE" } });
  });

  it("ends a message delivered too often in MAX_DELIVERIES_EXCEEDED", () => {
    const p = prepareMessage(env({ to: TOKEN, message_id: "m" }, { deliveryCount: 6 }), limits);
    expect(p).toMatchObject({ kind: "final", verdict: { code: "MAX_DELIVERIES_EXCEEDED" } });
    expect(prepareMessage(env({ to: TOKEN, message_id: "m" }, { deliveryCount: 5 }), limits).kind).toBe(
      "send",
    );
  });

  it("TTL: counted in whole seconds from publish; lowered on the way out", () => {
    const req = { to: TOKEN, message_id: "m", time_to_live: 10 };
    const t0 = 1_000_000;
    expect(checkTtl(req, 10, t0, t0 + 500)).toEqual({ expired: false, request: req });
    expect(checkTtl(req, 10, t0, t0 + 3_200)).toEqual({
      expired: false,
      request: { ...req, time_to_live: 7 },
    });
    expect(checkTtl(req, 10, t0, t0 + 10_999).expired).toBe(false);
    expect(checkTtl(req, 10, t0, t0 + 11_000).expired).toBe(true);
    const zero = { ...req, time_to_live: 0 };
    expect(checkTtl(zero, 0, t0, t0 + 900).expired).toBe(false);
    expect(checkTtl(zero, 0, t0, t0 + 1000).expired).toBe(true);
    const none = { to: TOKEN, message_id: "m" };
    expect(checkTtl(none, TTL_MAX_SECONDS, t0, t0 + 5000)).toEqual({ expired: false, request: none });
  });
});
