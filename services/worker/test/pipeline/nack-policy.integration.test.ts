import type { ServerHandle } from "@ccs/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_RETRY_POLICY } from "../../src/pipeline/retry-policy.ts";
import type { SendRecord } from "./support/fake-ccs.ts";
import { Harness, startTestNats, token } from "./support/harness.ts";

let nats: ServerHandle;
let h: Harness | undefined;

beforeAll(async () => {
  nats = await startTestNats();
});
afterEach(async () => {
  await h?.close();
  h = undefined;
});
afterAll(async () => {
  await nats?.dispose();
});

const fastRetry = {
  jitter: 0,
  serviceUnavailable: { baseMs: 40, maxMs: 1000, maxRetries: 3 },
  deviceRate: { baseMs: 60, maxMs: 1000, maxRetries: 2 },
  internalError: { baseMs: 20, maxMs: 100, maxRetries: 2 },
};

function gaps(sends: readonly SendRecord[]): number[] {
  return sends.slice(1).map((s, i) => s.at - (sends[i]?.at ?? 0));
}

describe("NACK policy per code", () => {
  it("SERVICE_UNAVAILABLE: retried on the same connection with doubling backoff, same message_id", async () => {
    expect(DEFAULT_RETRY_POLICY.serviceUnavailable.baseMs).toBe(1000);
    h = await Harness.start(nats.url, {
      senders: [{ senderId: "501", connections: 3 }],
      config: { retry: fastRetry },
      script: (_req, send) =>
        send.previousSends < 2 ? { kind: "nack", code: "SERVICE_UNAVAILABLE" } : { kind: "ack" },
    });
    await h.publish("501", { to: token(1), message_id: "su-1" });
    await h.waitForOutcomes(1);
    const sends = h.ccs.sendsById.get("su-1") ?? [];
    expect(sends).toHaveLength(3);
    expect(new Set(sends.map((s) => s.connectionId)).size).toBe(1);
    const [g1, g2] = gaps(sends);
    expect(g1).toBeGreaterThanOrEqual(40);
    expect(g2).toBeGreaterThanOrEqual(80);
    expect(h.outcomes[0]).toMatchObject({ status: "acked", attempts: 3, retries: 2 });
  });

  it("SERVICE_UNAVAILABLE past its bound ends in nacked", async () => {
    h = await Harness.start(nats.url, {
      senders: [{ senderId: "502", connections: 1 }],
      config: { retry: fastRetry },
      script: () => ({ kind: "nack", code: "SERVICE_UNAVAILABLE", description: "busy" }),
    });
    await h.publish("502", { to: token(1), message_id: "su-2" });
    await h.waitForOutcomes(1);
    expect(h.outcomes[0]).toMatchObject({ status: "nacked", code: "SERVICE_UNAVAILABLE", attempts: 4 });
  });

  it("CONNECTION_DRAINING: retried at once on another connection", async () => {
    h = await Harness.start(nats.url, {
      senders: [{ senderId: "503", connections: 2 }],
      script: (_req, send) =>
        send.previousSends === 0 ? { kind: "nack", code: "CONNECTION_DRAINING" } : { kind: "ack" },
    });
    const harness = h;
    await h.waitFor(() => harness.ccs.online().length === 2, "two connections online");
    await h.publishMany("503", 20, "dr");
    await h.waitForOutcomes(20);
    for (let i = 0; i < 20; i++) {
      const sends = h.ccs.sendsById.get(`dr-${i}`) ?? [];
      expect(sends).toHaveLength(2);
      expect(sends[1]?.connectionId).not.toBe(sends[0]?.connectionId);
      // "At once": well under the shortest backoff (1 s) of any delayed retry.
      expect((sends[1]?.at ?? 0) - (sends[0]?.at ?? 0)).toBeLessThan(900);
    }
    expect(h.outcomes.every((o) => o.status === "acked")).toBe(true);
  });

  it("DEVICE_MESSAGE_RATE_EXCEEDED / QUOTA_EXCEEDED: retried slower, then final", async () => {
    h = await Harness.start(nats.url, {
      senders: [{ senderId: "504", connections: 1 }],
      config: { retry: fastRetry },
      script: (req) =>
        req.message_id === "q"
          ? { kind: "nack", code: "QUOTA_EXCEEDED" }
          : { kind: "nack", code: "DEVICE_MESSAGE_RATE_EXCEEDED" },
    });
    await h.publish("504", { to: token(1), message_id: "rate" });
    await h.publish("504", { to: token(2), message_id: "q" });
    await h.waitForOutcomes(2);
    for (const id of ["rate", "q"]) {
      const sends = h.ccs.sendsById.get(id) ?? [];
      expect(sends).toHaveLength(3);
      const [g1, g2] = gaps(sends);
      expect(g1).toBeGreaterThanOrEqual(60);
      expect(g2).toBeGreaterThanOrEqual(120);
    }
    expect(h.outcomeFor("rate")[0]).toMatchObject({ status: "nacked", code: "DEVICE_MESSAGE_RATE_EXCEEDED" });
    expect(h.outcomeFor("q")[0]).toMatchObject({ status: "nacked", code: "QUOTA_EXCEEDED" });
  });

  it("rate exceeded slows down that device: its other messages wait for the cool-down too", async () => {
    h = await Harness.start(nats.url, {
      senders: [{ senderId: "509", connections: 1 }],
      config: { retry: { ...fastRetry, deviceRate: { baseMs: 300, maxMs: 1000, maxRetries: 2 } } },
      script: (req, send) =>
        req.message_id === "r1" && send.previousSends === 0
          ? { kind: "nack", code: "DEVICE_MESSAGE_RATE_EXCEEDED" }
          : { kind: "ack" },
    });
    const harness = h;
    await h.publish("509", { to: token(1), message_id: "r1" });
    await h.waitFor(() => harness.metrics.get("retries") === 1, "rate retry scheduled");
    await h.publish("509", { to: token(1), message_id: "r2" }); // same device
    await h.publish("509", { to: token(2), message_id: "other" }); // another device: not slowed
    await h.waitForOutcomes(3);
    const r1 = h.ccs.sendsById.get("r1")?.[0]?.at ?? 0;
    expect((h.ccs.sendsById.get("r2")?.[0]?.at ?? 0) - r1).toBeGreaterThanOrEqual(300);
    expect(h.ccs.sendsById.get("other")?.[0]?.at ?? Number.POSITIVE_INFINITY).toBeLessThan(
      h.ccs.sendsById.get("r2")?.[0]?.at ?? 0,
    );
    expect(h.outcomes.every((o) => o.status === "acked")).toBe(true);
  });

  it("INTERNAL_SERVER_ERROR and unknown codes: bounded retries, then nacked", async () => {
    h = await Harness.start(nats.url, {
      senders: [{ senderId: "505", connections: 2 }],
      config: { retry: fastRetry },
      script: (req) => ({
        kind: "nack",
        code: req.message_id === "u" ? "SOMETHING_NEW" : "INTERNAL_SERVER_ERROR",
      }),
    });
    await h.publish("505", { to: token(1), message_id: "i" });
    await h.publish("505", { to: token(2), message_id: "u" });
    await h.waitForOutcomes(2);
    expect(h.ccs.sendsById.get("i")).toHaveLength(3);
    expect(h.ccs.sendsById.get("u")).toHaveLength(3);
    expect(h.outcomeFor("u")[0]).toMatchObject({ status: "nacked", code: "SOMETHING_NEW", retries: 2 });
  });

  it("final codes: not retried; permanent token errors carry token_action remove", async () => {
    h = await Harness.start(nats.url, {
      senders: [{ senderId: "506", connections: 1 }],
      script: (req) =>
        req.message_id === "bad"
          ? { kind: "nack", code: "BAD_REGISTRATION", description: "Invalid token" }
          : req.message_id === "gone"
            ? { kind: "nack", code: "DEVICE_UNREGISTERED" }
            : req.message_id === "stanza"
              ? {
                  kind: "stanza-error",
                  error: { code: "400", type: "modify", condition: "bad-request", text: "x" },
                }
              : { kind: "ack", canonicalRegistrationId: token(99) },
    });
    for (const id of ["bad", "gone", "stanza", "canon"])
      await h.publish("506", { to: token(1), message_id: id });
    await h.waitForOutcomes(4);
    for (const id of ["bad", "gone", "stanza", "canon"]) expect(h.ccs.sendsById.get(id)).toHaveLength(1);
    expect(h.outcomeFor("bad")[0]).toMatchObject({
      status: "nacked",
      code: "BAD_REGISTRATION",
      token_action: "remove",
    });
    expect(h.outcomeFor("gone")[0]).toMatchObject({ status: "nacked", token_action: "remove" });
    expect(h.outcomeFor("stanza")[0]).toMatchObject({
      status: "rejected",
      rejected_by: "ccs",
      code: "STANZA_ERROR",
    });
    expect(h.outcomeFor("canon")[0]).toMatchObject({
      status: "acked",
      token_action: "replace",
      new_token: token(99),
      canonical_registration_id: token(99),
    });
    const i = h.outcomes.findIndex((o) => o.message_id === "bad");
    expect(h.outcomeHeaders[i]).toMatchObject({ "Ccs-Status": "nacked", "Ccs-Token-Action": "remove" });
  });

  it("lost (connection closed / answer timeout): sent again with the same message_id on another connection", async () => {
    h = await Harness.start(nats.url, {
      senders: [{ senderId: "507", connections: 2 }],
      script: (req, send) =>
        send.previousSends === 0 && req.message_id === "t"
          ? { kind: "lost", reason: "answer-timeout" }
          : send.previousSends === 0 && req.message_id === "c"
            ? new Promise(() => undefined) // never answered: the connection will be killed
            : { kind: "ack" },
    });
    const harness = h;
    await h.waitFor(() => harness.ccs.online().length === 2, "two connections online");
    await h.publish("507", { to: token(1), message_id: "t" });
    await h.waitForOutcomes(1);
    await h.publish("507", { to: token(2), message_id: "c" });
    const first = await h.waitFor(() => harness.ccs.sendsById.get("c")?.[0], "c sent");
    const slot = h.ccs.slots.find((s) => s.current?.id === first.connectionId);
    slot?.killCurrent();
    await h.waitForOutcomes(2);
    for (const id of ["t", "c"]) {
      const sends = h.ccs.sendsById.get(id) ?? [];
      expect(sends).toHaveLength(2);
      expect(sends[1]?.connectionId).not.toBe(sends[0]?.connectionId);
      expect(sends[1]?.request.message_id).toBe(id);
    }
    expect(h.outcomes.every((o) => o.status === "acked")).toBe(true);
    expect(h.metrics.get("lost")).toBe(2);
  });

  it("keeps a waiting message alive (working) and counts it against the fetch budget", async () => {
    h = await Harness.start(nats.url, {
      senders: [{ senderId: "508", connections: 1 }],
      windowSize: 4,
      config: {
        consumer: { ackWaitMs: 3000 },
        retry: { ...fastRetry, serviceUnavailable: { baseMs: 4000, maxMs: 4000, maxRetries: 1 } },
      },
      script: (req, send) =>
        req.message_id.startsWith("slow") && send.previousSends === 0
          ? { kind: "nack", code: "SERVICE_UNAVAILABLE" }
          : { kind: "ack" },
    });
    // 4 messages that wait 4 s (longer than ack_wait 3 s) for their retry.
    await h.publishMany("508", 4, "slow");
    const harness = h;
    await h.waitFor(() => harness.metrics.get("retries") === 4, "4 retries scheduled");
    await h.publishMany("508", 4, "later");
    // While the 4 wait, the window is free but the budget is used: nothing more is fetched.
    await new Promise((r) => setTimeout(r, 300));
    expect(h.metrics.get("fetched")).toBe(4);
    await h.waitForOutcomes(8);
    // No redelivery happened despite waiting past ack_wait: working() kept them alive.
    expect(h.outcomes.every((o) => o.deliveries === 1 && o.status === "acked")).toBe(true);
    expect(h.metrics.get("fetched")).toBe(8);
  });
});
