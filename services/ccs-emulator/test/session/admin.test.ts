import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunningEmulator, startEmulator } from "../../src/index.ts";
import { eventually, TestClient } from "./tls-client.ts";

const SENDER = { senderId: "555000", apiKey: "admin-test-key" };
let emu: RunningEmulator;
const clients: TestClient[] = [];
let seq = 0;
const token = () => `admintok${++seq}:APA91bAdmin`;

async function call(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${emu.adminUrl}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

async function ok<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
  const r = await call(method, path, body);
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json as T;
}

async function online(): Promise<TestClient> {
  const c = await TestClient.connect(emu.port, emu.caPem);
  clients.push(c);
  await c.login(SENDER.senderId, SENDER.apiKey);
  return c;
}

beforeAll(async () => {
  emu = await startEmulator({ port: 0, adminPort: 0, senders: [SENDER], seed: 11, drainGraceMs: 200 });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await eventually(
    () => emu.control.stats().connections.length,
    (n) => n === 0,
    "connections closed",
  );
  await ok("POST", "/reset");
});
afterAll(async () => {
  await emu.stop();
});

describe("admin API", () => {
  it("GET /health and GET /senders (never the key)", async () => {
    expect(await ok("GET", "/health")).toEqual({ status: "ok" });
    const senders = await call("GET", "/senders");
    expect(senders.json).toEqual([{ senderId: SENDER.senderId }]);
    expect(JSON.stringify(senders.json)).not.toContain(SENDER.apiKey);
  });

  it("answers 404, 405 and 400 as documented", async () => {
    expect(await call("GET", "/nope")).toEqual({ status: 404, json: { error: "not_found" } });
    expect((await call("DELETE", "/health")).status).toBe(405);
    const bad = await call("POST", "/devices", "{");
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ error: "bad_request" });
    expect((await call("POST", "/devices", { token: "x" })).status).toBe(400);
    expect((await call("GET", "/devices/unknown-token-here")).status).toBe(404);
    expect((await call("POST", "/devices/unknown-token-here/offline")).status).toBe(404);
    expect((await call("POST", "/drain", {})).status).toBe(400);
    expect((await call("POST", "/connections/c999/reset")).status).toBe(404);
  });

  it("manages devices: add, offline/online, idle/active, unregister/register, rotate", async () => {
    const t = token();
    expect(await ok("POST", "/devices", { token: t, online: false })).toMatchObject({
      token: t,
      registered: true,
      online: false,
      idle: false,
      held: 0,
    });
    const c = await online();
    const id = c.sendDownstream({ to: t });
    await c.answer(id);
    expect(await ok("GET", `/devices/${encodeURIComponent(t)}`)).toMatchObject({ held: 1, ledger: [] });
    expect(await ok("POST", `/devices/${encodeURIComponent(t)}/online`)).toMatchObject({
      online: true,
      held: 0,
    });
    const detail = await ok<{ ledger: { messageId: string; count: number }[] }>(
      "GET",
      `/devices/${encodeURIComponent(t)}`,
    );
    expect(detail.ledger).toMatchObject([{ messageId: id, count: 1, senderId: SENDER.senderId }]);
    expect(await ok("POST", `/devices/${encodeURIComponent(t)}/idle`)).toMatchObject({ idle: true });
    expect(await ok("POST", `/devices/${encodeURIComponent(t)}/active`)).toMatchObject({ idle: false });
    expect(await ok("POST", `/devices/${encodeURIComponent(t)}/unregister`)).toMatchObject({
      registered: false,
    });
    expect(await ok("POST", `/devices/${encodeURIComponent(t)}/register`)).toMatchObject({
      registered: true,
    });
    const rotated = await ok<{ canonicalToken: string }>(
      "POST",
      `/devices/${encodeURIComponent(t)}/rotate`,
      {},
    );
    expect(rotated.canonicalToken).toMatch(/:APA91b/);
    const list = await ok<{ token: string }[]>("GET", "/devices");
    expect(list.map((d) => d.token).sort()).toEqual([t, rotated.canonicalToken].sort());
  });

  it("GET /ledger totals deliveries and duplicates; ?messageIds=1 lists them", async () => {
    const c = await online();
    const t = token();
    const id = c.sendDownstream({ to: t });
    await c.answer(id);
    c.sendDownstream({ to: t, message_id: id });
    await c.answer(id);
    await eventually(
      () => ok<{ deliveries: number }>("GET", "/ledger"),
      (l) => l.deliveries === 2,
      "two deliveries",
    );
    expect(await ok("GET", "/ledger")).toMatchObject({
      devices: 1,
      messages: 1,
      deliveries: 2,
      duplicates: 1,
    });
    const withIds = await ok<{ messageIds: Record<string, number> }>("GET", "/ledger?messageIds=1");
    expect(withIds.messageIds).toEqual({ [`${SENDER.senderId}:${id}`]: 2 });
    const stats = await ok<{ counters: { duplicateDeliveries: number } }>("GET", "/stats");
    expect(stats.counters.duplicateDeliveries).toBe(1);
  });

  it("GET /stats lists connections with their pending counts, and counters per sender", async () => {
    await online();
    const stats = await ok<{
      connections: { id: string; senderId: string; state: string; pending: number }[];
      bySender: Record<string, { connections: number }>;
      counters: Record<string, unknown>;
    }>("GET", "/stats");
    expect(stats.connections).toMatchObject([{ senderId: SENDER.senderId, state: "online", pending: 0 }]);
    expect(stats.bySender[SENDER.senderId]?.connections).toBe(1);
    expect(stats.counters).toMatchObject({ connectionsOpened: 1, acked: 0, nacked: {} });
  });

  it("POST /upstream queues a message for one connection of the sender", async () => {
    const c = await online();
    const t = token();
    const { messageId } = await ok<{ messageId: string }>("POST", "/upstream", {
      from: t,
      category: "com.example",
      data: { a: "1" },
      timeToLive: 60,
    });
    const up = await c.gcm((j) => j.message_id === messageId, "upstream");
    expect(up.json).toEqual({
      category: "com.example",
      data: { a: "1" },
      message_id: messageId,
      from: t,
      time_to_live: 60,
    });
    expect((await call("POST", "/upstream", { from: t, senderId: "nobody" })).status).toBe(400);
  });

  it("PUT /upstream/generator produces upstream messages at a rate; null stops it", async () => {
    const c = await online();
    await ok("PUT", "/upstream/generator", { ratePerSecond: 100, devices: [token()], categories: ["gen"] });
    await c.gcm((j) => j.category === "gen", "a generated upstream message");
    expect(await ok("PUT", "/upstream/generator", null)).toEqual({ generator: null });
  });

  it("PUT /faults: a NACK burst, then GET /faults shows what is left", async () => {
    const c = await online();
    await ok("PUT", "/faults", { nackBurst: { code: "SERVICE_UNAVAILABLE", count: 2 } });
    const a1 = await c.answer(c.sendDownstream({ to: token() }));
    expect(a1).toMatchObject({
      message_type: "nack",
      error: "SERVICE_UNAVAILABLE",
      error_description: "CCS is not currently able to process the message",
    });
    expect(await ok("GET", "/faults")).toEqual({ nackBurst: { code: "SERVICE_UNAVAILABLE", count: 1 } });
    await c.answer(c.sendDownstream({ to: token() }));
    expect((await c.answer(c.sendDownstream({ to: token() }))).message_type).toBe("ack");
    expect(await ok("GET", "/faults")).toEqual({});
    expect((await call("PUT", "/faults", { nack: { NOPE: 1 } })).status).toBe(400);
  });

  it("PUT /faults refuseAuth refuses logins until cleared", async () => {
    await ok("PUT", "/faults", { refuseAuth: true });
    const c = await TestClient.connect(emu.port, emu.caPem);
    clients.push(c);
    await expect(c.login(SENDER.senderId, SENDER.apiKey)).rejects.toThrow(/failed/);
    await ok("PUT", "/faults", {});
    await online();
  });

  it("PUT /faults dropAnswers: the message is delivered but never answered (counted on close)", async () => {
    await ok("PUT", "/faults", { dropAnswers: 1 });
    const c = await online();
    const t = token();
    c.sendDownstream({ to: t });
    await eventually(
      () => ok<{ deliveries: number }>("GET", "/ledger"),
      (l) => l.deliveries === 1,
      "the delivery",
    );
    expect((await ok<{ connections: { pending: number }[] }>("GET", "/stats")).connections[0]?.pending).toBe(
      1,
    );
    c.close();
    await eventually(
      () => ok<{ counters: { unanswered: number } }>("GET", "/stats"),
      (s) => s.counters.unanswered === 1,
      "the unanswered count",
    );
  });

  it("PUT /faults slowAcks delays answers; stopReading stops reading one connection until cleared", async () => {
    const c = await online();
    await ok("PUT", "/faults", { slowAcks: { kind: "fixed", ms: 250 } });
    const started = Date.now();
    await c.answer(c.sendDownstream({ to: token() }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    const id = (await ok<{ connections: { id: string }[] }>("GET", "/stats")).connections[0]?.id ?? "";
    await ok("PUT", "/faults", { stopReading: { connectionId: id } });
    const waiting = c.sendDownstream({ to: token() });
    await expect(c.answer(waiting, 300)).rejects.toThrow(/timed out/);
    await ok("PUT", "/faults", {});
    expect((await c.answer(waiting)).message_type).toBe("ack");
  });

  it("PUT /faults randomDrain drains connections at random (seeded)", async () => {
    const c = await online();
    await ok("PUT", "/faults", { randomDrain: { perConnectionPerMinute: 60 } });
    await c.gcm((j) => j.control_type === "CONNECTION_DRAINING", "a random drain", 5000);
    await c.waitClosed();
    await ok("PUT", "/faults", {});
  });

  it("POST /drain and POST /connections/:id/reset act on live connections", async () => {
    const c1 = await online();
    const c2 = await online();
    const drained = await ok<{ drained: string[] }>("POST", "/drain", { senderId: SENDER.senderId });
    expect(drained.drained).toHaveLength(2);
    await c1.gcm((j) => j.control_type === "CONNECTION_DRAINING", "control");
    await Promise.all([c1.waitClosed(), c2.waitClosed()]);
    const c3 = await online();
    const id = (await ok<{ connections: { id: string }[] }>("GET", "/stats")).connections[0]?.id ?? "";
    expect(await ok("POST", `/connections/${id}/reset`)).toEqual({ reset: id });
    await c3.waitClosed();
  });

  it("PUT /config changes runtime settings; POST /reset clears devices, counters and faults", async () => {
    expect(await ok("PUT", "/config", { pendingLimit: 7, autoRegisterDevices: false })).toMatchObject({
      pendingLimit: 7,
      autoRegisterDevices: false,
    });
    const c = await online();
    const a = await c.answer(c.sendDownstream({ to: token() }));
    expect(a).toMatchObject({ error: "BAD_REGISTRATION" });
    await ok("PUT", "/config", { pendingLimit: 100, autoRegisterDevices: true });
    await ok("PUT", "/faults", { dropAnswers: 0.5 });
    await ok("POST", "/devices", { token: token() });
    await ok("POST", "/reset");
    expect(await ok("GET", "/devices")).toEqual([]);
    expect(await ok("GET", "/faults")).toEqual({});
    const stats = await ok<{ counters: { nacked: Record<string, number> }; connections: unknown[] }>(
      "GET",
      "/stats",
    );
    expect(stats.counters.nacked).toEqual({});
    expect(stats.connections).toHaveLength(1);
  });
});
