/**
 * Device side: offline hold, time_to_live, collapse keys, delay_while_idle, dry_run, the delivery ledger.
 * Sources: ccs-facts.md "Messages" (limits from the archived server reference: ttl 0..2419200, 4 collapse
 * keys per device, dry_run), reference 000 request fields; CONTRACT.md admin routes /devices and /ledger.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DeviceWithLedger } from "../support/admin.ts";
import { expectAck } from "../support/expectations.ts";
import {
  elapse,
  SENDER_A,
  SENDER_B,
  startTestEmulator,
  type TestEmulator,
  token,
  waitUntil,
} from "../support/fixtures.ts";
import type { RawXmppClient } from "../support/raw-xmpp-client.ts";

let t: TestEmulator;

beforeAll(async () => {
  t = await startTestEmulator();
});
afterEach(async () => {
  await t.clients.closeAll();
});
afterAll(async () => {
  await t.stop();
});

async function sendAcked(c: RawXmppClient, payload: Record<string, unknown>): Promise<string> {
  const id = await c.sendDownstream(payload);
  expectAck(await c.answer(id), String(payload.to), id);
  return id;
}

function delivered(device: DeviceWithLedger, messageId: string): number {
  return device.ledger.find((e) => e.messageId === messageId)?.count ?? 0;
}

function deliveredTo(to: string, messageId: string, description: string): Promise<DeviceWithLedger> {
  return waitUntil(
    () => t.admin.device(to),
    (d) => delivered(d, messageId) > 0,
    description,
  );
}

describe("online and offline devices", () => {
  it("delivers to an online device at once and records it in the device ledger", async () => {
    const c = await t.clients.online();
    const to = token();
    await t.admin.addDevice({ token: to });
    const id = await sendAcked(c, { to, data: { a: "1" } });
    const device = await deliveredTo(to, id, "delivery to the online device");
    const entry = device.ledger.find((e) => e.messageId === id);
    expect(entry?.count).toBe(1);
    expect(entry?.senderId).toBe(SENDER_A.senderId);
    expect(entry?.firstAt).toBeDefined();
    expect(entry?.lastAt).toBeDefined();
    expect(device.held).toBe(0);
  });

  it("holds messages for an offline device (ACKed) and delivers them when it comes online", async () => {
    const c = await t.clients.online();
    const to = token();
    const dev = await t.admin.addDevice({ token: to, online: false });
    expect(dev.online).toBe(false);
    const m1 = await sendAcked(c, { to, data: { n: "1" } });
    const m2 = await sendAcked(c, { to, data: { n: "2" } });
    const held = await waitUntil(
      () => t.admin.device(to),
      (d) => d.held === 2,
      "two held messages",
    );
    expect(delivered(held, m1) + delivered(held, m2)).toBe(0);
    const online = await t.admin.deviceAction(to, "online");
    expect(online.online).toBe(true);
    const device = await waitUntil(
      () => t.admin.device(to),
      (d) => delivered(d, m1) === 1 && delivered(d, m2) === 1,
      "held messages delivered on online",
    );
    expect(device.held).toBe(0);
  });

  it("drops a time_to_live 0 message to an offline device (now or never)", async () => {
    const c = await t.clients.online();
    const to = token();
    await t.admin.addDevice({ token: to, online: false });
    const now = await sendAcked(c, { to, time_to_live: 0 });
    expect((await t.admin.device(to)).held).toBe(0);
    await t.admin.deviceAction(to, "online");
    const later = await sendAcked(c, { to });
    const device = await deliveredTo(to, later, "the later message");
    expect(delivered(device, now)).toBe(0);
  });

  it("does not deliver a held message whose time_to_live expired while the device was offline", async () => {
    const c = await t.clients.online();
    const to = token();
    await t.admin.addDevice({ token: to, online: false });
    const short = await sendAcked(c, { to, time_to_live: 1 });
    const long = await sendAcked(c, { to, time_to_live: 3600 });
    await elapse(1_300); // the condition under test: 1 s of time_to_live passes
    await t.admin.deviceAction(to, "online");
    const device = await deliveredTo(to, long, "the unexpired message");
    expect(delivered(device, short)).toBe(0);
  });

  it("lists devices with token/registered/online/idle/held", async () => {
    const to = token();
    await t.admin.addDevice({ token: to, online: false, idle: false });
    const list = await t.admin.ok<Array<Record<string, unknown>>>("GET", "/devices");
    const dev = list.find((d) => d.token === to);
    expect(dev).toMatchObject({ token: to, registered: true, online: false, idle: false, held: 0 });
  });
});

describe("collapse_key", () => {
  it("keeps only the latest message of a collapse key for an offline device", async () => {
    const c = await t.clients.online();
    const to = token();
    await t.admin.addDevice({ token: to, online: false });
    const first = await sendAcked(c, { to, collapse_key: "score", data: { v: "1" } });
    const second = await sendAcked(c, { to, collapse_key: "score", data: { v: "2" } });
    const third = await sendAcked(c, { to, collapse_key: "score", data: { v: "3" } });
    const plain = await sendAcked(c, { to, data: { v: "plain" } });
    expect((await t.admin.device(to)).held).toBe(2);
    await t.admin.deviceAction(to, "online");
    const device = await waitUntil(
      () => t.admin.device(to),
      (d) => delivered(d, third) === 1 && delivered(d, plain) === 1,
      "latest collapsed and the plain message delivered",
    );
    expect(delivered(device, first)).toBe(0);
    expect(delivered(device, second)).toBe(0);
    expect(device.ledger.find((e) => e.messageId === third)?.collapseKey).toBe("score");
  });

  it("holds at most 4 collapse keys per device", async () => {
    const c = await t.clients.online();
    const to = token();
    await t.admin.addDevice({ token: to, online: false });
    const ids: string[] = [];
    for (const key of ["k1", "k2", "k3", "k4", "k5"]) ids.push(await sendAcked(c, { to, collapse_key: key }));
    expect((await t.admin.device(to)).held).toBe(4);
    await t.admin.deviceAction(to, "online");
    const marker = await sendAcked(c, { to });
    const device = await deliveredTo(to, marker, "the marker message after the collapsed ones");
    expect(ids.filter((id) => delivered(device, id) === 1)).toHaveLength(4);
  });
});

describe("delay_while_idle", () => {
  it("holds delay_while_idle messages for an idle device until it is active; others go through", async () => {
    const c = await t.clients.online();
    const to = token();
    await t.admin.addDevice({ token: to, online: true, idle: true });
    const delayed = await sendAcked(c, { to, delay_while_idle: true });
    const direct = await sendAcked(c, { to, delay_while_idle: false });
    const before = await deliveredTo(to, direct, "the message without delay_while_idle");
    expect(delivered(before, delayed)).toBe(0);
    expect(before.held).toBe(1);
    const active = await t.admin.deviceAction(to, "active");
    expect(active.idle).toBe(false);
    await deliveredTo(to, delayed, "the delayed message once active");
  });

  it("an idle transition via the admin route holds new delay_while_idle messages", async () => {
    const c = await t.clients.online();
    const to = token();
    await t.admin.addDevice({ token: to });
    const idle = await t.admin.deviceAction(to, "idle");
    expect(idle.idle).toBe(true);
    const delayed = await sendAcked(c, { to, delay_while_idle: true });
    await waitUntil(
      () => t.admin.device(to),
      (d) => d.held === 1,
      "the delayed message held",
    );
    await t.admin.deviceAction(to, "active");
    await deliveredTo(to, delayed, "delivery once active");
  });
});

describe("dry_run", () => {
  it("ACKs a dry_run message and never delivers it", async () => {
    const c = await t.clients.online();
    const to = token();
    await t.admin.addDevice({ token: to });
    const dry = await sendAcked(c, { to, dry_run: true, data: { x: "y" } });
    const real = await sendAcked(c, { to });
    const device = await deliveredTo(to, real, "the real message");
    expect(delivered(device, dry)).toBe(0);
    const ledger = await t.admin.ledger(true);
    expect(ledger.messageIds?.[`${SENDER_A.senderId}:${dry}`] ?? 0).toBe(0);
    expect(ledger.messageIds?.[`${SENDER_A.senderId}:${real}`]).toBe(1);
  });
});

describe("ledger", () => {
  it("aggregates devices, messages, deliveries and duplicates; per sender + message_id", async () => {
    await t.admin.reset();
    const a = await t.clients.online(SENDER_A);
    const b = await t.clients.online(SENDER_B);
    const d1 = token();
    const d2 = token();
    await sendAcked(a, { to: d1, message_id: "L1" });
    await sendAcked(a, { to: d1, message_id: "L2" });
    await sendAcked(a, { to: d2, message_id: "L3" });
    // Same message_id from another sender is another message, not a duplicate.
    await sendAcked(b, { to: d2, message_id: "L3" });
    const ledger = await waitUntil(
      () => t.admin.ledger(true),
      (l) => l.deliveries === 4,
      "four deliveries in /ledger",
    );
    expect(ledger).toMatchObject({ devices: 2, messages: 4, deliveries: 4, duplicates: 0 });
    expect(ledger.messageIds).toEqual({
      [`${SENDER_A.senderId}:L1`]: 1,
      [`${SENDER_A.senderId}:L2`]: 1,
      [`${SENDER_A.senderId}:L3`]: 1,
      [`${SENDER_B.senderId}:L3`]: 1,
    });
    const plain = await t.admin.ledger(false);
    expect(plain.messageIds).toBeUndefined();
    const dev2 = await t.admin.device(d2);
    expect(dev2.ledger.map((e) => [e.senderId, e.messageId, e.count]).sort()).toEqual([
      [SENDER_A.senderId, "L3", 1],
      [SENDER_B.senderId, "L3", 1],
    ]);
    expect((await t.admin.stats()).counters.deliveredToDevices).toBe(4);
  });

  it("counts a resent message_id delivered twice to the same device as a duplicate", async () => {
    await t.admin.reset();
    const c = await t.clients.online();
    const to = token();
    await sendAcked(c, { to, message_id: "dup-1" });
    await deliveredTo(to, "dup-1", "first delivery");
    await sendAcked(c, { to, message_id: "dup-1" });
    const device = await waitUntil(
      () => t.admin.device(to),
      (d) => delivered(d, "dup-1") === 2,
      "second delivery of the same message_id",
    );
    expect(device.ledger.filter((e) => e.messageId === "dup-1")).toHaveLength(1);
    const ledger = await t.admin.ledger();
    expect(ledger).toMatchObject({ devices: 1, messages: 1, deliveries: 2, duplicates: 1 });
    expect((await t.admin.stats()).counters.duplicateDeliveries).toBe(1);
  });
});
