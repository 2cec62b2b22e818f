import { beforeEach, describe, expect, it } from "vitest";
import type { Device, DeviceMessage } from "../../src/devices/device.ts";
import { Ledgers } from "../../src/devices/ledger.ts";
import { DeviceRegistry } from "../../src/devices/registry.ts";
import { NotFoundError } from "../../src/errors.ts";
import { Stats } from "../../src/stats.ts";

const SENDER = "111";
const TOKEN = "tokenAAAA:APA91b-first";

let now = 1_000_000;
let stats: Stats;
let ledgers: Ledgers;
let delivered: string[];
let registry: DeviceRegistry;

beforeEach(() => {
  now = 1_000_000;
  stats = new Stats([SENDER]);
  ledgers = new Ledgers(1000, (s) => stats.forSender(s).inc("duplicateDeliveries"));
  delivered = [];
  registry = new DeviceRegistry({
    maxDevices: 10,
    maxHeld: 5,
    ledgers,
    stats,
    clock: () => now,
    hooks: { delivered: (device, m) => delivered.push(`${device.token}:${m.messageId}`) },
  });
});

function msg(messageId: string, over: Partial<DeviceMessage> = {}): DeviceMessage {
  return {
    senderId: SENDER,
    messageId,
    to: TOKEN,
    collapseKey: undefined,
    expiresAt: now + 60_000,
    nowOrNever: false,
    delayWhileIdle: false,
    receiptRequested: false,
    acceptedAt: now,
    ...over,
  };
}

function device(token = TOKEN): Device {
  const r = registry.resolve(token, true, SENDER);
  if (r.kind !== "device") throw new Error(`not a device: ${r.kind}`);
  return r.device;
}

describe("resolution", () => {
  it("auto-registers a well-formed token, online and active", () => {
    const d = device();
    expect(d).toMatchObject({ token: TOKEN, registered: true, online: true, idle: false, senderId: SENDER });
  });

  it("does not auto-register when turned off, nor malformed tokens", () => {
    expect(registry.resolve(TOKEN, false, SENDER).kind).toBe("unknown");
    expect(registry.resolve("bad token!", true, SENDER).kind).toBe("unknown");
  });

  it("reports unregistered devices", () => {
    registry.add({ token: TOKEN });
    registry.unregister(TOKEN);
    expect(registry.resolve(TOKEN, true, SENDER).kind).toBe("unregistered");
    registry.register(TOKEN);
    expect(registry.resolve(TOKEN, true, SENDER).kind).toBe("device");
  });

  it("follows a rotation to the canonical device", () => {
    registry.add({ token: TOKEN });
    registry.rotate(TOKEN, "tokenBBBB:APA91b-second");
    const r = registry.resolve(TOKEN, true, SENDER);
    expect(r).toMatchObject({ kind: "device", canonical: "tokenBBBB:APA91b-second" });
    const generated = registry.rotate("tokenBBBB:APA91b-second", undefined);
    expect(generated.canonicalToken).toMatch(/^[A-Za-z0-9_-]+:APA91b[A-Za-z0-9_-]+$/);
    expect(registry.resolve(TOKEN, true, SENDER)).toMatchObject({ canonical: generated.canonicalToken });
  });

  it("is bounded", () => {
    for (let i = 0; i < 10; i++) device(`device-token-${i}`);
    expect(registry.resolve("device-token-x", true, SENDER).kind).toBe("full");
    expect(() => registry.add({ token: "device-token-y" })).toThrow(/full/);
  });

  it("throws NotFoundError for unknown devices", () => {
    expect(() => registry.setOnline("nobody-here", true)).toThrow(NotFoundError);
  });
});

describe("delivery and holding", () => {
  it("delivers at once to an online device and records it in the ledger", () => {
    expect(registry.accept(device(), msg("m1"), now)).toBe("delivered");
    expect(delivered).toEqual([`${TOKEN}:m1`]);
    expect(ledgers.device(TOKEN)?.count(SENDER, "m1")).toBe(1);
  });

  it("counts duplicate deliveries", () => {
    const d = device();
    registry.accept(d, msg("m1"), now);
    registry.accept(d, msg("m1"), now + 1);
    expect(ledgers.summary(true)).toMatchObject({ messages: 1, deliveries: 2, duplicates: 1 });
    expect(stats.global.duplicateDeliveries).toBe(1);
    expect(ledgers.summary(true).messageIds).toEqual({ [`${SENDER}:m1`]: 2 });
  });

  it("holds for an offline device and delivers, in order, when it comes online", () => {
    registry.add({ token: TOKEN, online: false });
    const d = device();
    expect(registry.accept(d, msg("m1"), now)).toBe("held");
    expect(registry.accept(d, msg("m2"), now)).toBe("held");
    expect(delivered).toEqual([]);
    registry.setOnline(TOKEN, true);
    expect(delivered).toEqual([`${TOKEN}:m1`, `${TOKEN}:m2`]);
    expect(d.held).toHaveLength(0);
  });

  it("drops held messages whose time_to_live expired", () => {
    registry.add({ token: TOKEN, online: false });
    const d = device();
    registry.accept(d, msg("short", { expiresAt: now + 1000 }), now);
    registry.accept(d, msg("long", { expiresAt: now + 10_000 }), now);
    now += 5000;
    registry.setOnline(TOKEN, true);
    expect(delivered).toEqual([`${TOKEN}:long`]);
    expect(stats.global.heldExpired).toBe(1);
  });

  it("drops a time_to_live 0 message to an offline device", () => {
    registry.add({ token: TOKEN, online: false });
    expect(registry.accept(device(), msg("now", { nowOrNever: true, expiresAt: now }), now)).toBe("dropped");
    expect(stats.global.droppedTtlZero).toBe(1);
    registry.setOnline(TOKEN, true);
    expect(delivered).toEqual([]);
  });

  it("keeps only the latest message per collapse_key", () => {
    registry.add({ token: TOKEN, online: false });
    const d = device();
    registry.accept(d, msg("a1", { collapseKey: "a" }), now);
    registry.accept(d, msg("b1", { collapseKey: "b" }), now);
    registry.accept(d, msg("a2", { collapseKey: "a" }), now);
    expect(d.held.map((m) => m.messageId)).toEqual(["b1", "a2"]);
    expect(stats.global.heldReplaced).toBe(1);
  });

  it("holds at most 4 collapse keys, evicting the oldest", () => {
    registry.add({ token: TOKEN, online: false });
    const d = device();
    for (const k of ["k1", "k2", "k3", "k4", "k5"])
      registry.accept(d, msg(`m-${k}`, { collapseKey: k }), now);
    expect(d.held.map((m) => m.collapseKey)).toEqual(["k2", "k3", "k4", "k5"]);
  });

  it("bounds the messages held per device", () => {
    registry.add({ token: TOKEN, online: false });
    const d = device();
    for (let i = 0; i < 7; i++) registry.accept(d, msg(`m${i}`), now);
    expect(d.held.map((m) => m.messageId)).toEqual(["m2", "m3", "m4", "m5", "m6"]);
  });

  it("honours delay_while_idle: held while idle, delivered once active; others go through", () => {
    registry.add({ token: TOKEN, idle: true });
    const d = device();
    expect(registry.accept(d, msg("delayed", { delayWhileIdle: true }), now)).toBe("held");
    expect(registry.accept(d, msg("plain"), now)).toBe("delivered");
    registry.setIdle(TOKEN, false);
    expect(delivered).toEqual([`${TOKEN}:plain`, `${TOKEN}:delayed`]);
  });

  it("moves held messages to the canonical device on rotation", () => {
    registry.add({ token: TOKEN, online: false });
    registry.accept(device(), msg("m1"), now);
    registry.rotate(TOKEN, "tokenBBBB:APA91b-second");
    registry.setOnline("tokenBBBB:APA91b-second", true);
    expect(delivered).toEqual(["tokenBBBB:APA91b-second:m1"]);
  });

  it("forgets held messages on unregistration", () => {
    registry.add({ token: TOKEN, online: false });
    registry.accept(device(), msg("m1"), now);
    expect(registry.unregister(TOKEN).held).toHaveLength(0);
  });
});

describe("ledger bound", () => {
  it("counts arrivals past the bound as overflow", () => {
    const small = new Ledgers(2);
    expect(small.record("t", SENDER, "1", undefined, 1)).toBe(true);
    expect(small.record("t", SENDER, "2", undefined, 1)).toBe(true);
    expect(small.record("t", SENDER, "3", undefined, 1)).toBe(false);
    expect(small.summary(false)).toMatchObject({ messages: 2, deliveries: 2, overflow: 1 });
  });

  it("indexes interleaved arrivals per device in order, duplicates across flushes included", () => {
    const dups: string[] = [];
    const l = new Ledgers(100, (s) => dups.push(s));
    l.record("t1", SENDER, "a", undefined, 1);
    l.record("t2", SENDER, "a", "ck", 2);
    l.record("t1", "other", "a", undefined, 3);
    l.record("t1", SENDER, "a", "late", 4);
    expect(l.summary(false)).toMatchObject({ devices: 2, messages: 3, deliveries: 4, duplicates: 1 });
    l.record("t2", SENDER, "a", undefined, 5);
    l.record("t3", SENDER, "b", undefined, 6);
    expect(l.summary(true)).toEqual({
      devices: 3,
      messages: 4,
      deliveries: 6,
      duplicates: 2,
      overflow: 0,
      messageIds: { [`${SENDER}:a`]: 4, "other:a": 1, [`${SENDER}:b`]: 1 },
    });
    expect(dups).toEqual([SENDER, SENDER]);
    expect([...(l.device("t1")?.entries() ?? [])]).toEqual([
      { messageId: "a", senderId: SENDER, count: 2, firstAt: 1, lastAt: 4 },
      { messageId: "a", senderId: "other", count: 1, firstAt: 3, lastAt: 3 },
    ]);
    expect([...(l.device("t2")?.entries() ?? [])]).toEqual([
      { messageId: "a", senderId: SENDER, count: 2, firstAt: 2, lastAt: 5, collapseKey: "ck" },
    ]);
    l.clear();
    expect(l.summary(false)).toEqual({ devices: 0, messages: 0, deliveries: 0, duplicates: 0, overflow: 0 });
  });

  it("keeps first and last arrival times and the collapse key", () => {
    const l = new Ledgers(10);
    l.record("t", SENDER, "1", "ck", 5);
    l.record("t", SENDER, "1", "ck", 9);
    expect([...(l.device("t")?.entries() ?? [])]).toEqual([
      { messageId: "1", senderId: SENDER, count: 2, firstAt: 5, lastAt: 9, collapseKey: "ck" },
    ]);
  });
});
