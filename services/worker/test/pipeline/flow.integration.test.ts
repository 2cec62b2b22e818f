import type { ServerHandle } from "@ccs/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
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

describe("flow: JetStream work -> CCS sends -> one outcome each", () => {
  it("gives every published message exactly one outcome and acks its work message", async () => {
    h = await Harness.start(nats.url, { senders: [{ senderId: "111", connections: 3 }], windowSize: 10 });
    const ids = await h.publishMany("111", 600, "m");
    await h.waitForOutcomes(ids.length);
    for (const id of ids) {
      const list = h.outcomeFor(id);
      expect(list, id).toHaveLength(1);
      expect(list[0]?.status).toBe("acked");
      expect(list[0]?.attempts).toBe(1);
    }
    const harness = h;
    await h.waitFor(async () => (await harness.downStreamMessages()) === 0, "down stream empty");
    // No more than the window was ever pending on any connection.
    expect(h.ccs.maxPendingSeen()).toBeLessThanOrEqual(10);
    expect(h.ccs.maxPendingSeen()).toBeGreaterThan(1);
    // Work was spread over the connections.
    expect(new Set(h.ccs.sends.map((s) => s.connectionId)).size).toBe(3);
    expect(h.outcomes).toHaveLength(ids.length);
  });

  it("never holds more messages than its windows have room for", async () => {
    // Answers are held back until released: the worker must fetch no more than room allows.
    const release: Array<() => void> = [];
    h = await Harness.start(nats.url, {
      senders: [{ senderId: "222", connections: 2 }],
      windowSize: 5,
      script: () => new Promise((resolve) => release.push(() => resolve({ kind: "ack" }))),
    });
    await h.publishMany("222", 40, "w");
    const harness = h;
    await h.waitFor(() => release.length === 10, "both windows full");
    const d = await h.pipeline.dispatcher("222");
    // Held = the 10 in flight; nothing extra fetched while the windows are full.
    expect(d?.stats().held).toBe(10);
    expect(h.metrics.get("fetched")).toBe(10);
    while (harness.outcomes.length < 40) {
      for (const r of release.splice(0)) r();
      await new Promise((r) => setImmediate(r));
      expect(harness.ccs.maxPendingSeen()).toBeLessThanOrEqual(5);
      if (release.length === 0)
        await harness.waitFor(() => release.length > 0 || harness.outcomes.length >= 40, "more sends");
    }
    expect(h.ccs.maxPendingSeen()).toBe(5);
  });

  it("generates a stable message_id when absent: from Nats-Msg-Id, else from the stream sequence", async () => {
    h = await Harness.start(nats.url, { senders: [{ senderId: "333", connections: 1 }] });
    await h.publish("333", { to: token(1) }, { msgId: "from-header-1" });
    const seq = await h.publish("333", { to: token(2) });
    await h.waitForOutcomes(2);
    const ids = h.outcomes.map((o) => o.message_id).sort();
    expect(ids[0]).toBe("from-header-1");
    expect(ids[1]).toMatch(new RegExp(`^js-${seq}-`));
    expect(h.ccs.sends.map((s) => s.request.message_id).sort()).toEqual(ids);
  });

  it("persists upstream messages before ACKing them to CCS on their connection", async () => {
    h = await Harness.start(nats.url, { senders: [{ senderId: "444", connections: 1 }] });
    const harness = h;
    const conn = await h.waitFor(() => harness.ccs.online()[0], "a connection online");
    const stream = h.config.streams.upstream.name;
    conn.deliverUpstream({ messageId: "u1", from: token(7), category: "com.example" });
    conn.deliverUpstream({ kind: "receipt", messageId: "dr2:m1", from: "gcm.googleapis.com" });
    await h.waitFor(() => harness.ccs.upstreamAcks.length === 2, "two upstream ACKs");
    // Each ACK happened after the message was in the stream: the stream holds both now, and the
    // persister only calls ack() after the publish acknowledgement.
    const info = await h.jsm.streams.info(stream);
    expect(info.state.messages).toBe(2);
    expect(h.ccs.upstreamAcks.every((a) => a.connectionId === conn.id)).toBe(true);
    const m = await h.jsm.streams.getMessage(stream, { seq: 1 });
    expect(m?.header.get("Ccs-Message-Id")).toBe("u1");
    expect(m?.subject).toBe(`${h.config.subjectPrefix}.internal.up.444`);
    expect(h.metrics.get("upstream_persisted")).toBe(2);
  });
});
