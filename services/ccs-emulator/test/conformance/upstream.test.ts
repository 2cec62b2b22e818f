/**
 * Upstream messages (device to app server) and their ACKs. Sources: reference 000/001 "Upstream Messages"
 * and "Flow Control" (ACKs valid only on the carrying connection; resent on the next connection unless
 * expired, 001; CCS stops sending when too many are un-ACKed), ccs-facts.md, CONTRACT.md.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  elapse,
  SENDER_A,
  SENDER_B,
  startTestEmulator,
  type TestEmulator,
  token,
  uniqueName,
  waitUntil,
} from "../support/fixtures.ts";
import { asGcm, type ClientItem, type RawXmppClient } from "../support/raw-xmpp-client.ts";

let t: TestEmulator;

beforeAll(async () => {
  t = await startTestEmulator();
});
afterEach(async () => {
  await t.quiesce();
});
afterAll(async () => {
  await t.stop();
});

function isUpstream(messageId: string, from?: string) {
  return (item: ClientItem): boolean => {
    const m = asGcm(item);
    return (
      m !== undefined &&
      m.json.message_id === messageId &&
      m.json.message_type === undefined &&
      (from === undefined || m.json.from === from)
    );
  };
}

function countIn(c: RawXmppClient, messageId: string): number {
  return c.history.filter(isUpstream(messageId)).length;
}

describe("upstream delivery", () => {
  it("delivers an upstream message in the documented stanza and JSON shape", async () => {
    const c = await t.clients.online();
    const device = token();
    const { messageId } = await t.admin.upstream({
      from: device,
      category: "com.example.yourapp",
      data: { hello: "world" },
      messageId: "m-123",
    });
    expect(messageId).toBe("m-123");
    const up = await c.gcm((j) => j.message_id === "m-123");
    expect(up.el.attrs.to).toBe(`${SENDER_A.senderId}@gcm.googleapis.com`);
    expect(up.el.attrs.from).toBe("devices@gcm.googleapis.com");
    expect(up.el.attrs.type).toBe("normal");
    expect(up.el.attrs.id).toBeTruthy();
    expect(up.json).toEqual({
      category: "com.example.yourapp",
      data: { hello: "world" },
      message_id: "m-123",
      from: device,
    });
    await c.ackUpstream(device, "m-123");
  });

  it("carries data with XML special characters and non-ASCII text intact", async () => {
    const c = await t.clients.online();
    const device = token();
    const data = { text: `<a href="x">&amp; 'q' é€😀</a>` };
    const { messageId } = await t.admin.upstream({ from: device, category: "com.esc", data });
    const up = await c.gcm((j) => j.message_id === messageId);
    expect(up.json.data).toEqual(data);
    await c.ackUpstream(device, messageId);
  });

  it("carries time_to_live when the device set one, and generates a message_id when none is given", async () => {
    const c = await t.clients.online();
    const device = token();
    const { messageId } = await t.admin.upstream({
      from: device,
      category: "com.example",
      data: { a: "1" },
      timeToLive: 120,
    });
    expect(typeof messageId).toBe("string");
    expect(messageId.length).toBeGreaterThan(0);
    const up = await c.gcm((j) => j.message_id === messageId);
    expect(up.json.time_to_live).toBe(120);
    expect(up.json.from).toBe(device);
    await c.ackUpstream(device, messageId);
  });

  it("routes by sender ID: another sender's connection never sees it", async () => {
    const a = await t.clients.online(SENDER_A);
    const b = await t.clients.online(SENDER_B);
    const device = token();
    const { messageId } = await t.admin.upstream({
      senderId: SENDER_B.senderId,
      from: device,
      category: "com.b",
      data: {},
    });
    const up = await b.gcm((j) => j.message_id === messageId);
    expect(up.el.attrs.to).toBe(`${SENDER_B.senderId}@gcm.googleapis.com`);
    await b.ackUpstream(device, messageId);
    await a.ping();
    expect(countIn(a, messageId)).toBe(0);
  });

  it("queues upstream while the sender has no connection and delivers on the next one", async () => {
    const device = token();
    const { messageId } = await t.admin.upstream({ from: device, category: "com.q", data: { q: "1" } });
    const c = await t.clients.online();
    await c.gcm((j) => j.message_id === messageId, 5_000, "the queued upstream message");
    await c.ackUpstream(device, messageId);
  });

  it("delivers each upstream message to exactly one of the sender's connections", async () => {
    const c1 = await t.clients.online();
    const c2 = await t.clients.online();
    const device = token();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push(
        (await t.admin.upstream({ from: device, category: "com.one", data: { i: String(i) } })).messageId,
      );
    }
    await waitUntil(
      () => ids.every((id) => countIn(c1, id) + countIn(c2, id) > 0),
      (ok) => ok,
      "every upstream message on some connection",
    );
    await Promise.all([c1.ping(), c2.ping()]);
    for (const id of ids) expect(countIn(c1, id) + countIn(c2, id), `copies of ${id}`).toBe(1);
    for (const id of ids) await (countIn(c1, id) === 1 ? c1 : c2).ackUpstream(device, id);
  });
});

describe("upstream ACKs", () => {
  it("counts an ACK only on the connection that carried the message", async () => {
    const r1 = uniqueName("r");
    const r2 = uniqueName("r");
    const c1 = await t.clients.online(SENDER_A, r1);
    const c2 = await t.clients.online(SENDER_A, r2);
    const device = token();
    const { messageId } = await t.admin.upstream({ from: device, category: "com.ack", data: {} });
    await waitUntil(
      () => countIn(c1, messageId) + countIn(c2, messageId),
      (n) => n > 0,
      "the upstream message on one connection",
    );
    const [carrier, other, carrierRes] = countIn(c1, messageId) > 0 ? [c1, c2, r1] : [c2, c1, r2];
    await other.ackUpstream(device, messageId);
    const misrouted = await waitUntil(
      () => t.admin.stats(),
      (s) => s.counters.upstreamMisroutedAcks === 1,
      "the misrouted ACK to be counted",
    );
    expect(misrouted.counters.upstreamAcked).toBe(0);
    expect(misrouted.connections.find((x) => x.resource === carrierRes)?.unackedUpstream).toBe(1);
    await carrier.ackUpstream(device, messageId);
    const acked = await waitUntil(
      () => t.admin.stats(),
      (s) => s.counters.upstreamAcked === 1,
      "the ACK on the carrying connection to count",
    );
    expect(acked.connections.find((x) => x.resource === carrierRes)?.unackedUpstream).toBe(0);
    expect(acked.bySender[SENDER_A.senderId]?.upstreamAcked).toBe(1);
  });

  it("identifies an upstream message by device and message_id: small ids repeat across devices", async () => {
    const resource = uniqueName("ids");
    const c = await t.clients.online(SENDER_A, resource);
    const d1 = token();
    const d2 = token();
    await t.admin.upstream({ from: d1, category: "com.ids", data: { d: "1" }, messageId: "1" });
    await t.admin.upstream({ from: d2, category: "com.ids", data: { d: "2" }, messageId: "1" });
    await c.next(isUpstream("1", d1), 5_000, "message 1 of device 1");
    await c.next(isUpstream("1", d2), 5_000, "message 1 of device 2");
    await c.ackUpstream(d1, "1");
    const afterFirst = await waitUntil(
      () => t.admin.stats(),
      (s) => s.counters.upstreamAcked === 1,
      "the ACK for device 1 counted",
    );
    expect(afterFirst.connections.find((x) => x.resource === resource)?.unackedUpstream).toBe(1);
    await c.ackUpstream(d2, "1");
    const afterSecond = await waitUntil(
      () => t.admin.stats(),
      (s) => s.counters.upstreamAcked === 2,
      "the ACK for device 2 counted",
    );
    expect(afterSecond.connections.find((x) => x.resource === resource)?.unackedUpstream).toBe(0);
  });

  it("redelivers an un-ACKed message on the next connection after a close, same JSON", async () => {
    const first = await t.clients.online();
    const device = token();
    const { messageId } = await t.admin.upstream({ from: device, category: "com.re", data: { x: "y" } });
    const original = await first.gcm((j) => j.message_id === messageId);
    await first.close();
    const second = await t.clients.online();
    const again = await second.gcm((j) => j.message_id === messageId, 5_000, "the redelivered message");
    expect(again.json).toEqual(original.json);
    await second.ackUpstream(device, messageId);
    const stats = await waitUntil(
      () => t.admin.stats(),
      (s) => s.counters.upstreamAcked === 1,
      "the redelivered message ACKed",
    );
    expect(stats.counters.upstreamRedeliveries).toBe(1);
    await second.close();
    const third = await t.clients.online();
    const marker = await t.admin.upstream({ from: device, category: "com.re", data: { marker: "1" } });
    await third.gcm((j) => j.message_id === marker.messageId);
    expect(countIn(third, messageId)).toBe(0);
    await third.ackUpstream(device, marker.messageId);
  });

  it("redelivers after an abrupt disconnect (socket destroyed) too", async () => {
    const first = await t.clients.online();
    const device = token();
    const { messageId } = await t.admin.upstream({ from: device, category: "com.re", data: {} });
    await first.gcm((j) => j.message_id === messageId);
    first.destroy();
    const second = await t.clients.online();
    await second.gcm((j) => j.message_id === messageId, 5_000, "the redelivered message");
    await second.ackUpstream(device, messageId);
  });

  it("does not redeliver a message whose time_to_live expired", async () => {
    const first = await t.clients.online();
    const device = token();
    const { messageId } = await t.admin.upstream({
      from: device,
      category: "com.exp",
      data: {},
      timeToLive: 1,
    });
    await first.gcm((j) => j.message_id === messageId);
    await first.close();
    await elapse(1_300); // the condition under test: the 1 s time_to_live passes
    const second = await t.clients.online();
    const marker = await t.admin.upstream({ from: device, category: "com.exp", data: { m: "1" } });
    await second.gcm((j) => j.message_id === marker.messageId);
    expect(countIn(second, messageId)).toBe(0);
    await second.ackUpstream(device, marker.messageId);
  });

  it("counts upstreamSent/upstreamDelivered/upstreamAcked", async () => {
    const c = await t.clients.online();
    const device = token();
    const { messageId } = await t.admin.upstream({ from: device, category: "com.cnt", data: {} });
    await c.gcm((j) => j.message_id === messageId);
    await c.ackUpstream(device, messageId);
    const s = await waitUntil(
      () => t.admin.stats(),
      (x) => x.counters.upstreamAcked === 1,
      "the ACK counted",
    );
    expect(s.counters.upstreamSent).toBeGreaterThanOrEqual(1);
    expect(s.counters.upstreamDelivered).toBeGreaterThanOrEqual(1);
    expect(s.counters.upstreamRedeliveries).toBe(0);
    expect(s.counters.upstreamMisroutedAcks).toBe(0);
  });
});

describe("upstream flow control", () => {
  it("stops sending to a connection at upstreamMaxUnacked and resumes as ACKs come", async () => {
    const local = await startTestEmulator({ upstreamMaxUnacked: 3 });
    try {
      const resource = uniqueName("cap");
      const c = await local.clients.online(SENDER_A, resource);
      const device = token();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push((await local.admin.upstream({ from: device, category: "com.cap", data: {} })).messageId);
      }
      await waitUntil(
        () => ids.filter((id) => countIn(c, id) > 0).length,
        (n) => n >= 3,
        "three upstream",
      );
      await c.ping();
      const received = (): string[] => ids.filter((id) => countIn(c, id) > 0);
      expect(received()).toHaveLength(3);
      expect((await local.admin.connectionByResource(resource)).unackedUpstream).toBe(3);
      const firstId = received()[0] ?? "";
      await c.ackUpstream(device, firstId);
      await waitUntil(received, (r) => r.length === 4, "a fourth upstream message after one ACK");
      for (const id of received()) if (id !== firstId) await c.ackUpstream(device, id);
      await waitUntil(received, (r) => r.length === 5, "the fifth upstream message");
    } finally {
      await local.stop();
    }
  });

  it("sends what a full connection cannot take to another connection of the sender", async () => {
    const local = await startTestEmulator({ upstreamMaxUnacked: 2 });
    try {
      const c1 = await local.clients.online();
      const device = token();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push((await local.admin.upstream({ from: device, category: "com.cap", data: {} })).messageId);
      }
      await waitUntil(
        () => ids.filter((id) => countIn(c1, id) > 0).length,
        (n) => n === 2,
        "two on c1",
      );
      const c2 = await local.clients.online();
      await waitUntil(
        () => ids.filter((id) => countIn(c2, id) > 0).length,
        (n) => n === 1,
        "the third on c2",
      );
      await c1.ping();
      expect(ids.filter((id) => countIn(c1, id) > 0)).toHaveLength(2);
    } finally {
      await local.stop();
    }
  });
});

describe("upstream generator option", () => {
  it("generates upstream traffic from the startup option", async () => {
    const device = token();
    const local = await startTestEmulator({
      upstreamGenerator: { ratePerSecond: 40, devices: [device], categories: ["com.generated"] },
    });
    try {
      const c = await local.clients.online();
      for (let i = 0; i < 3; i++) {
        const up = await c.gcm((j) => j.message_type === undefined && j.from === device, 3_000);
        expect(up.json.category).toBe("com.generated");
        expect(typeof up.json.message_id).toBe("string");
        expect(typeof up.json.data).toBe("object");
        await c.ackUpstream(device, String(up.json.message_id));
      }
    } finally {
      await local.stop();
    }
  });
});
