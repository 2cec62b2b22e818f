/**
 * Delivery receipts. Sources: reference 000 "Receive return receipts", 001 "Receive delivery receipts"
 * (dr2: id, must be ACKed), ccs-facts.md "Receipts" (capture adds message_sent_timestamp, time_to_live 0;
 * upstream stanza attributes), CONTRACT.md receipts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { expectAck } from "../support/expectations.ts";
import {
  SENDER_A,
  startTestEmulator,
  type TestEmulator,
  token,
  uniqueName,
  waitUntil,
} from "../support/fixtures.ts";
import { asGcm, type GcmMessage, type RawXmppClient } from "../support/raw-xmpp-client.ts";

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

function isReceiptFor(messageId: string) {
  return (j: Record<string, unknown>): boolean =>
    j.message_type === "receipt" && j.message_id === `dr2:${messageId}`;
}

async function sendWithReceipt(c: RawXmppClient, to: string): Promise<string> {
  const id = await c.sendDownstream({ to, delivery_receipt_requested: true, data: { hello: "world" } });
  expectAck(await c.answer(id), to, id);
  return id;
}

function expectReceipt(r: GcmMessage, messageId: string, to: string): void {
  expect(r.el.attrs.to).toBe(`${SENDER_A.senderId}@gcm.googleapis.com`);
  expect(r.el.attrs.from).toBe("devices@gcm.googleapis.com");
  expect(r.el.attrs.type).toBe("normal");
  expect(r.el.attrs.id).toBeTruthy();
  expect(Object.keys(r.json).sort()).toEqual([
    "category",
    "data",
    "from",
    "message_id",
    "message_type",
    "time_to_live",
  ]);
  expect(typeof r.json.category).toBe("string");
  expect(r.json.message_id).toBe(`dr2:${messageId}`);
  expect(r.json.message_type).toBe("receipt");
  expect(r.json.from).toBe("gcm.googleapis.com");
  expect(r.json.time_to_live).toBe(0);
  const data = r.json.data as Record<string, unknown>;
  expect(Object.keys(data).sort()).toEqual([
    "device_registration_id",
    "message_sent_timestamp",
    "message_status",
    "original_message_id",
  ]);
  expect(data.message_status).toBe("MESSAGE_SENT_TO_DEVICE");
  expect(data.original_message_id).toBe(messageId);
  expect(data.device_registration_id).toBe(to);
  expect(data.message_sent_timestamp).toMatch(/^\d+$/);
  expect(Math.abs(Number(data.message_sent_timestamp) - Date.now())).toBeLessThan(60_000);
}

describe("delivery receipts", () => {
  it("sends a receipt with the documented fields and a dr2: message_id", async () => {
    const before = (await t.admin.stats()).counters.receiptsSent;
    const c = await t.clients.online();
    const to = token();
    const id = await sendWithReceipt(c, to);
    const receipt = await c.gcm(isReceiptFor(id), 5_000, `receipt for ${id}`);
    expectReceipt(receipt, id, to);
    expect((await t.admin.stats()).counters.receiptsSent).toBe(before + 1);
    await c.ackUpstream("gcm.googleapis.com", `dr2:${id}`);
  });

  it("sends the receipt after the ACK of its message (accepted, then sent to the device)", async () => {
    const c = await t.clients.online();
    const to = token();
    const id = await c.sendDownstream({ to, delivery_receipt_requested: true });
    await c.gcm(isReceiptFor(id), 5_000, `receipt for ${id}`);
    const order = c.history
      .map((i) => {
        const m = asGcm(i);
        if (m?.json.message_type === "ack" && m.json.message_id === id) return "ack";
        if (m !== undefined && isReceiptFor(id)(m.json)) return "receipt";
        return undefined;
      })
      .filter((x) => x !== undefined);
    await c.ackUpstream("gcm.googleapis.com", `dr2:${id}`);
    expect(order).toEqual(["ack", "receipt"]);
  });

  it("sends no receipt unless delivery_receipt_requested is true", async () => {
    const c = await t.clients.online();
    const to = token();
    const quiet = await c.sendDownstream({ to, delivery_receipt_requested: false });
    await c.answer(quiet);
    const loud = await sendWithReceipt(c, to);
    await c.gcm(isReceiptFor(loud), 5_000, "receipt for the requesting message");
    await c.ackUpstream("gcm.googleapis.com", `dr2:${loud}`);
    await c.ping();
    expect(c.history.some((i) => i.kind === "stanza" && i.raw.includes(`dr2:${quiet}`))).toBe(false);
  });

  it("sends the receipt for an offline device only when the message reaches it", async () => {
    const c = await t.clients.online();
    const to = token();
    await t.admin.addDevice({ token: to, online: false });
    const id = await sendWithReceipt(c, to);
    await c.ping();
    expect(c.pending().some((i) => i.kind === "stanza" && i.raw.includes(`dr2:${id}`))).toBe(false);
    await t.admin.deviceAction(to, "online");
    const receipt = await c.gcm(isReceiptFor(id), 5_000, "receipt after the device came online");
    expectReceipt(receipt, id, to);
    await c.ackUpstream("gcm.googleapis.com", `dr2:${id}`);
  });

  it("sends no receipt for a dry_run message (it never reaches the device)", async () => {
    const c = await t.clients.online();
    const to = token();
    const dry = await c.sendDownstream({ to, dry_run: true, delivery_receipt_requested: true });
    expectAck(await c.answer(dry), to, dry);
    const real = await sendWithReceipt(c, to);
    await c.gcm(isReceiptFor(real), 5_000, "the receipt of the real message");
    await c.ackUpstream("gcm.googleapis.com", `dr2:${real}`);
    await c.ping();
    expect(c.history.some((i) => i.kind === "stanza" && i.raw.includes(`dr2:${dry}`))).toBe(false);
  });

  it("sends a receipt produced while its connection drains to another connection", async () => {
    const local = await startTestEmulator({ drainGraceMs: 10_000 });
    try {
      const resource = uniqueName("drn");
      const first = await local.clients.online(SENDER_A, resource);
      const to = token();
      await local.admin.addDevice({ token: to, online: false });
      const id = await first.sendDownstream({ to, delivery_receipt_requested: true });
      expectAck(await first.answer(id), to, id);
      const { id: connectionId } = await local.admin.connectionByResource(resource);
      await local.admin.drain({ connectionId });
      await first.gcm((j) => j.message_type === "control");
      const second = await local.clients.online();
      await local.admin.deviceAction(to, "online");
      const receipt = await second.gcm(isReceiptFor(id), 5_000, "the receipt on the non-draining connection");
      expectReceipt(receipt, id, to);
      await first.ping();
      expect(first.history.some((i) => i.kind === "stanza" && i.raw.includes(`dr2:${id}`))).toBe(false);
    } finally {
      await local.stop();
    }
  });

  it("counts a receipt as un-ACKed upstream until the app server ACKs it with the dr2: id", async () => {
    const resource = uniqueName("rcpt");
    const c = await t.clients.online(SENDER_A, resource);
    const acksBefore = (await t.admin.stats()).counters.upstreamAcked;
    const id = await sendWithReceipt(c, token());
    const receipt = await c.gcm(isReceiptFor(id));
    await waitUntil(
      () => t.admin.connectionByResource(resource),
      (x) => x.unackedUpstream === 1,
      "one un-ACKed upstream message",
    );
    await c.ackUpstream(String(receipt.json.from), `dr2:${id}`);
    await waitUntil(
      () => t.admin.connectionByResource(resource),
      (x) => x.unackedUpstream === 0,
      "the receipt ACKed",
    );
    expect((await t.admin.stats()).counters.upstreamAcked).toBe(acksBefore + 1);
  });

  it("redelivers an un-ACKed receipt on the next connection, and not once ACKed", async () => {
    const first = await t.clients.online();
    const id = await sendWithReceipt(first, token());
    const receipt = await first.gcm(isReceiptFor(id));
    const redeliveriesBefore = (await t.admin.stats()).counters.upstreamRedeliveries;
    await first.close();
    const second = await t.clients.online();
    const again = await second.gcm(isReceiptFor(id), 5_000, "the receipt again on the next connection");
    expect(again.json).toEqual(receipt.json);
    await second.ackUpstream("gcm.googleapis.com", `dr2:${id}`);
    await waitUntil(
      () => t.admin.stats(),
      (s) => s.counters.upstreamRedeliveries === redeliveriesBefore + 1 && s.counters.upstreamAcked > 0,
      "upstreamRedeliveries to count the redelivery",
    );
    await waitUntil(
      async () => (await t.admin.stats()).connections.filter((x) => x.unackedUpstream > 0).length,
      (n) => n === 0,
      "no un-ACKed upstream left",
    );
    await second.close();
    const third = await t.clients.online();
    const marker = await t.admin.upstream({ from: token(), category: "com.example", data: { m: "1" } });
    await third.gcm((j) => j.message_id === marker.messageId, 5_000, "a fresh upstream message");
    expect(third.history.some((i) => i.kind === "stanza" && i.raw.includes(`dr2:${id}`))).toBe(false);
  });
});
