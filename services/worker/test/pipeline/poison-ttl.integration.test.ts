import { silentLogger } from "@ccs/telemetry";
import type { ServerHandle } from "@ccs/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureSenderConsumer, ensureStreams, workerSubjects } from "../../src/pipeline/streams.ts";
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

describe("poison messages and TTL", () => {
  it("ends poison messages in rejected outcomes without sending them", async () => {
    h = await Harness.start(nats.url, {
      senders: [{ senderId: "601", connections: 1 }],
      config: { limits: { maxPayloadBytes: 8192 } },
    });
    await h.publish("601", "{not json", { msgId: "p-json" });
    await h.publish("601", "[1,2,3]", { msgId: "p-array" });
    await h.publish("601", { to: token(1), message_id: "p-ttl", time_to_live: "abc" });
    await h.publish("601", { to: token(1), message_id: "p-big", data: { x: "y".repeat(9000) } });
    await h.publish("601", {
      to: token(1),
      message_id: "p-data",
      data: { x: "y".repeat(2100), z: "w".repeat(2100) },
    });
    await h.publish("601", { to: token(1), message_id: "p-reserved", data: { from: "me" } });
    await h.publish("601", { to: "not a token!", message_id: "p-token" });
    await h.publish("601", { message_id: "p-no-to" });
    await h.publish("601", { to: token(1), message_id: "ok" });
    await h.waitForOutcomes(9);
    expect(h.ccs.sends.map((s) => s.request.message_id)).toEqual(["ok"]);
    const by = (id: string) => h?.outcomeFor(id)[0];
    expect(by("p-json")).toMatchObject({ status: "rejected", rejected_by: "worker", code: "STANZA_ERROR" });
    expect(by("p-json")?.stanza_error?.condition).toBe("bad-request");
    expect(by("p-array")).toMatchObject({ status: "rejected", code: "STANZA_ERROR" });
    expect(by("p-ttl")).toMatchObject({ status: "rejected", code: "INVALID_JSON" });
    expect(by("p-ttl")?.description).toContain("time_to_live");
    expect(by("p-big")).toMatchObject({ status: "rejected", code: "PAYLOAD_TOO_LARGE" });
    expect(by("p-data")).toMatchObject({ status: "rejected", code: "INVALID_JSON" });
    expect(by("p-reserved")).toMatchObject({ status: "rejected", code: "INVALID_JSON" });
    expect(by("p-token")).toMatchObject({
      status: "rejected",
      code: "BAD_REGISTRATION",
      token_action: "remove",
    });
    expect(by("p-no-to")).toMatchObject({ status: "rejected", code: "INVALID_JSON" });
    expect(by("ok")).toMatchObject({ status: "acked" });
    for (const o of h.outcomes) expect(h.outcomeFor(o.message_id)).toHaveLength(1);
    const harness = h;
    await h.waitFor(async () => (await harness.downStreamMessages()) === 0, "all work acked");
  });

  it("bounds redeliveries: past maxDeliveries a message ends in MAX_DELIVERIES_EXCEEDED", async () => {
    h = await Harness.start(nats.url, {
      senders: [{ senderId: "602", connections: 1 }],
      config: { consumer: { maxDeliveries: 2 } },
      start: false,
    });
    const s = workerSubjects(h.config);
    await ensureStreams(h.jsm, h.config.streams, s, silentLogger);
    const name = await ensureSenderConsumer(h.jsm, h.config.consumer, s, "602");
    await h.publish("602", { to: token(1), message_id: "crashy" });
    const consumer = await h.js.consumers.get(h.config.streams.down.name, name);
    // Two deliveries that "crash" (nak) before the worker sees it a third time.
    for (let i = 0; i < 2; i++) {
      const m = await consumer.next({ expires: 2000 });
      expect(m?.info.deliveryCount).toBe(i + 1);
      m?.nak();
    }
    await h.pipeline.start();
    await h.waitForOutcomes(1);
    expect(h.outcomes[0]).toMatchObject({
      message_id: "crashy",
      status: "rejected",
      code: "MAX_DELIVERIES_EXCEEDED",
      deliveries: 3,
    });
    expect(h.ccs.sends).toHaveLength(0);
  });

  it("expires messages past their time_to_live (from the JetStream publish time) and lowers the TTL it sends", async () => {
    h = await Harness.start(nats.url, { senders: [{ senderId: "603", connections: 1 }], start: false });
    await ensureStreams(h.jsm, h.config.streams, workerSubjects(h.config), silentLogger);
    await h.publish("603", { to: token(1), message_id: "ttl0", time_to_live: 0 });
    await h.publish("603", { to: token(1), message_id: "ttl100", time_to_live: 100 });
    await h.publish("603", { to: token(1), message_id: "nottl" });
    const published = Date.now();
    const harness = h;
    await h.waitFor(() => Date.now() - published > 1100, "more than a second passed");
    await h.pipeline.start();
    await h.waitForOutcomes(3);
    expect(h.outcomeFor("ttl0")[0]).toMatchObject({ status: "expired", code: "TTL_EXPIRED", attempts: 0 });
    expect(h.outcomeFor("ttl100")[0]).toMatchObject({ status: "acked" });
    const sent = harness.ccs.sendsById.get("ttl100")?.[0]?.request;
    expect(sent?.time_to_live).toBeLessThan(100);
    expect(sent?.time_to_live).toBeGreaterThanOrEqual(98);
    expect(harness.ccs.sendsById.get("nottl")?.[0]?.request.time_to_live).toBeUndefined();
    expect(harness.ccs.sendsById.has("ttl0")).toBe(false);
  });

  it("expires a message whose retry would come after its time_to_live", async () => {
    h = await Harness.start(nats.url, {
      senders: [{ senderId: "604", connections: 1 }],
      config: { retry: { jitter: 0, serviceUnavailable: { baseMs: 3000, maxMs: 3000, maxRetries: 3 } } },
      script: () => ({ kind: "nack", code: "SERVICE_UNAVAILABLE" }),
    });
    await h.publish("604", { to: token(1), message_id: "short", time_to_live: 1 });
    await h.waitForOutcomes(1);
    expect(h.outcomes[0]).toMatchObject({ status: "expired", attempts: 1 });
  });
});
