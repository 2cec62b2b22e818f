import { describe, expect, it } from "vitest";
import { buildOutcome, outcomeHeaders, outcomeMsgId } from "../../src/pipeline/outcome.ts";

const ctx = {
  messageId: "m1",
  senderId: "s1",
  to: "tok-old",
  attempts: 2,
  retries: 1,
  deliveries: 1,
  publishedAtMs: Date.UTC(2026, 0, 1),
  firstSentAtMs: Date.UTC(2026, 0, 1) + 5,
  completedAtMs: Date.UTC(2026, 0, 1) + 25,
  connectionId: "c1",
  workerId: "w1",
};

describe("outcome schema", () => {
  it("acked, with a canonical id -> token_action replace", () => {
    const o = buildOutcome({ status: "acked", canonicalRegistrationId: "tok-new" }, ctx);
    expect(o).toEqual({
      v: 1,
      message_id: "m1",
      sender_id: "s1",
      to: "tok-old",
      status: "acked",
      canonical_registration_id: "tok-new",
      token_action: "replace",
      new_token: "tok-new",
      attempts: 2,
      retries: 1,
      deliveries: 1,
      published_at: "2026-01-01T00:00:00.000Z",
      first_sent_at: "2026-01-01T00:00:00.005Z",
      completed_at: "2026-01-01T00:00:00.025Z",
      latency_ms: 25,
      connection_id: "c1",
      worker_id: "w1",
    });
    expect(buildOutcome({ status: "acked" }, ctx).token_action).toBeUndefined();
    expect(outcomeMsgId(o)).toBe("s1:m1");
    expect(outcomeHeaders(o)).toEqual([
      ["Ccs-Status", "acked"],
      ["Ccs-Message-Id", "m1"],
      ["Ccs-Token-Action", "replace"],
    ]);
  });

  it("nacked with a permanent token error -> token_action remove; others none", () => {
    expect(buildOutcome({ status: "nacked", code: "DEVICE_UNREGISTERED" }, ctx).token_action).toBe("remove");
    expect(buildOutcome({ status: "nacked", code: "BAD_REGISTRATION" }, ctx).token_action).toBe("remove");
    expect(buildOutcome({ status: "nacked", code: "SERVICE_UNAVAILABLE" }, ctx).token_action).toBeUndefined();
  });

  it("expired carries TTL_EXPIRED", () => {
    expect(buildOutcome({ status: "expired", description: "gone" }, ctx)).toMatchObject({
      status: "expired",
      code: "TTL_EXPIRED",
      description: "gone",
    });
  });
});
