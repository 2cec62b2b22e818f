/**
 * Admin HTTP API: every route of CONTRACT.md "Admin HTTP API", its errors (400/404) and the in-process
 * `control` mirror of it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Counters } from "../support/admin.ts";
import { expectAck } from "../support/expectations.ts";
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
import { asGcm } from "../support/raw-xmpp-client.ts";

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

const COUNTER_KEYS = [
  "connectionsOpened",
  "authFailures",
  "connectionLimitRefusals",
  "downstreamReceived",
  "acked",
  "nacked",
  "stanzaErrors",
  "pendingViolations",
  "unanswered",
  "upstreamSent",
  "upstreamDelivered",
  "upstreamRedeliveries",
  "upstreamAcked",
  "upstreamMisroutedAcks",
  "receiptsSent",
  "drainsSent",
  "resets",
  "duplicateDeliveries",
  "deliveredToDevices",
] as const;

function expectCounters(counters: Counters | undefined): void {
  expect(counters).toBeDefined();
  for (const key of COUNTER_KEYS) {
    if (key === "nacked") expect(typeof counters?.nacked).toBe("object");
    else expect(typeof counters?.[key], `counter ${key}`).toBe("number");
  }
}

function expectBadRequest(answer: { status: number; body: unknown }): void {
  expect(answer.status).toBe(400);
  expect(answer.body).toMatchObject({ error: "bad_request" });
  expect(typeof (answer.body as { message?: unknown }).message).toBe("string");
}

function expectNotFound(answer: { status: number; body: unknown }): void {
  expect(answer.status).toBe(404);
  expect(answer.body).toMatchObject({ error: "not_found" });
}

describe("health, stats, senders", () => {
  it("GET /health answers {status: ok} as JSON", async () => {
    const answer = await t.admin.request("GET", "/health");
    expect(answer.status).toBe(200);
    expect(answer.contentType).toMatch(/application\/json/);
    expect(answer.body).toEqual({ status: "ok" });
  });

  it("GET /stats has connections, every counter and bySender", async () => {
    const resource = uniqueName("st");
    await t.clients.online(SENDER_A, resource);
    const stats = await t.admin.stats();
    expectCounters(stats.counters);
    const conn = stats.connections.find((c) => c.resource === resource);
    expect(conn).toBeDefined();
    for (const key of [
      "id",
      "senderId",
      "resource",
      "state",
      "pending",
      "unackedUpstream",
      "openedAt",
      "remoteAddress",
    ]) {
      expect(conn, `connection field ${key}`).toHaveProperty(key);
    }
    expect(["connecting", "authenticated", "online", "draining", "closed"]).toContain(conn?.state);
    const mine = stats.bySender[SENDER_A.senderId];
    expectCounters(mine);
    expect(mine?.connections).toBe(1);
    expect(typeof mine?.pending).toBe("number");
    expect(stats.counters.connectionsOpened).toBeGreaterThanOrEqual(1);
  });

  it("GET /senders lists sender IDs and never a key", async () => {
    const answer = await t.admin.request("GET", "/senders");
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual([{ senderId: SENDER_A.senderId }, { senderId: SENDER_B.senderId }]);
    expect(answer.text).not.toContain(SENDER_A.apiKey);
    expect(answer.text).not.toContain(SENDER_B.apiKey);
    expect(answer.text.toLowerCase()).not.toContain("key");
  });

  it("answers 404 {error: not_found} for unknown routes", async () => {
    expectNotFound(await t.admin.request("GET", "/no-such-route"));
    expectNotFound(await t.admin.request("POST", "/devices/x/explode", { body: {} }));
  });
});

describe("devices", () => {
  it("POST /devices creates a device with the documented defaults", async () => {
    const tok = token();
    const answer = await t.admin.request("POST", "/devices", { body: { token: tok } });
    expect(answer.status).toBeLessThan(300);
    expect(answer.body).toMatchObject({ token: tok, registered: true, online: true, idle: false, held: 0 });
    const list = await t.admin.ok<Array<{ token: string }>>("GET", "/devices");
    expect(list.map((d) => d.token)).toContain(tok);
    const one = await t.admin.device(tok);
    expect(one).toMatchObject({ token: tok, registered: true, online: true, idle: false, held: 0 });
    expect(one.ledger).toEqual([]);
  });

  it("POST /devices honours registered/online/idle", async () => {
    const tok = token();
    const dev = await t.admin.addDevice({ token: tok, registered: false, online: false, idle: true });
    expect(dev).toMatchObject({ token: tok, registered: false, online: false, idle: true });
  });

  it("every device action route returns the device in its new state", async () => {
    const tok = token();
    await t.admin.addDevice({ token: tok });
    expect(await t.admin.deviceAction(tok, "unregister")).toMatchObject({ token: tok, registered: false });
    expect(await t.admin.deviceAction(tok, "register")).toMatchObject({ token: tok, registered: true });
    expect(await t.admin.deviceAction(tok, "offline")).toMatchObject({ token: tok, online: false });
    expect(await t.admin.deviceAction(tok, "online")).toMatchObject({ token: tok, online: true });
    expect(await t.admin.deviceAction(tok, "idle")).toMatchObject({ token: tok, idle: true });
    expect(await t.admin.deviceAction(tok, "active")).toMatchObject({ token: tok, idle: false });
    const canonical = token();
    expect(await t.admin.deviceAction(tok, "rotate", { canonicalToken: canonical })).toMatchObject({
      token: tok,
      canonicalToken: canonical,
    });
  });

  it("answers 400 for invalid device bodies and 404 for unknown tokens", async () => {
    expectBadRequest(await t.admin.request("POST", "/devices", { body: {} }));
    expectBadRequest(await t.admin.request("POST", "/devices", { body: { token: 42 } }));
    expectBadRequest(await t.admin.request("POST", "/devices", { rawBody: "{not json" }));
    const missing = token();
    expectNotFound(await t.admin.request("GET", `/devices/${missing}`));
    for (const action of ["unregister", "register", "offline", "online", "idle", "active", "rotate"]) {
      expectNotFound(await t.admin.request("POST", `/devices/${missing}/${action}`, { body: {} }));
    }
  });

  it("GET /devices/:token includes the ledger of deliveries", async () => {
    const c = await t.clients.online();
    const tok = token();
    const id = await c.sendDownstream({ to: tok, collapse_key: "ck" });
    expectAck(await c.answer(id), tok, id);
    const dev = await waitUntil(
      () => t.admin.device(tok),
      (d) => d.ledger.length === 1,
      "one ledger entry",
    );
    expect(dev.ledger[0]).toMatchObject({
      messageId: id,
      senderId: SENDER_A.senderId,
      count: 1,
      collapseKey: "ck",
    });
  });
});

describe("ledger, upstream, generator", () => {
  it("GET /ledger aggregates and ?messageIds=1 adds the per-message map", async () => {
    const c = await t.clients.online();
    const tok = token();
    const id = await c.sendDownstream({ to: tok });
    await c.answer(id);
    const ledger = await waitUntil(
      () => t.admin.ledger(true),
      (l) => l.deliveries === 1,
      "one delivery",
    );
    expect(ledger).toMatchObject({ devices: 1, messages: 1, deliveries: 1, duplicates: 0 });
    expect(ledger.messageIds).toEqual({ [`${SENDER_A.senderId}:${id}`]: 1 });
  });

  it("POST /upstream queues a message and answers its messageId; 400 on a bad body", async () => {
    const c = await t.clients.online();
    const device = token();
    const answer = await t.admin.request("POST", "/upstream", {
      body: { from: device, category: "com.adm", data: { k: "v" }, messageId: "up-1" },
    });
    expect(answer.status).toBeLessThan(300);
    expect(answer.body).toEqual({ messageId: "up-1" });
    await c.gcm((j) => j.message_id === "up-1");
    await c.ackUpstream(device, "up-1");
    expectBadRequest(await t.admin.request("POST", "/upstream", { body: { category: "com.adm", data: {} } }));
    expectBadRequest(await t.admin.request("POST", "/upstream", { rawBody: "[" }));
  });

  it("PUT /upstream/generator produces upstream traffic from the given devices and categories; null stops it", async () => {
    const c = await t.clients.online();
    const devices = [token(), token()];
    const answer = await t.admin.request("PUT", "/upstream/generator", {
      body: { ratePerSecond: 50, devices, categories: ["com.gen"] },
    });
    expect(answer.status).toBeLessThan(300);
    const seen: string[] = [];
    for (let i = 0; i < 5; i++) {
      const up = await c.gcm((j) => j.message_type === undefined && j.category === "com.gen", 3_000);
      expect(devices).toContain(up.json.from);
      seen.push(String(up.json.message_id));
      await c.ackUpstream(String(up.json.from), String(up.json.message_id));
    }
    expect(new Set(seen).size).toBe(5);
    const stop = await t.admin.request("PUT", "/upstream/generator", { rawBody: "null" });
    expect(stop.status).toBeLessThan(300);
    const before = (await t.admin.stats()).counters.upstreamSent;
    await elapse(300); // 15 generator periods at 50/s: nothing may be produced once stopped
    expect((await t.admin.stats()).counters.upstreamSent).toBe(before);
  });

  it("PUT /upstream/generator answers 400 for an invalid body", async () => {
    expectBadRequest(
      await t.admin.request("PUT", "/upstream/generator", { body: { ratePerSecond: "fast", devices: [] } }),
    );
  });
});

describe("drain, faults, connections, config", () => {
  it("POST /drain answers the drained connection IDs; 400 on a bad body", async () => {
    const resource = uniqueName("adr");
    const c = await t.clients.online(SENDER_A, resource);
    const { id } = await t.admin.connectionByResource(resource);
    const answer = await t.admin.request("POST", "/drain", { body: { connectionId: id } });
    expect(answer.status).toBeLessThan(300);
    expect(answer.body).toEqual({ drained: [id] });
    await c.gcm((j) => j.message_type === "control");
    expectBadRequest(await t.admin.request("POST", "/drain", { body: {} }));
  });

  it("PUT /faults replaces the faults; GET /faults returns them; 400 on a bad body", async () => {
    await t.admin.setFaults({ nack: { QUOTA_EXCEEDED: 0.5 }, dropAnswers: 0.1 });
    expect(await t.admin.ok("GET", "/faults")).toMatchObject({
      nack: { QUOTA_EXCEEDED: 0.5 },
      dropAnswers: 0.1,
    });
    await t.admin.setFaults({ slowAcks: { kind: "fixed", ms: 5 } });
    const replaced = await t.admin.ok<Record<string, unknown>>("GET", "/faults");
    expect(replaced).toMatchObject({ slowAcks: { kind: "fixed", ms: 5 } });
    expect(replaced.nack).toBeUndefined();
    expect(replaced.dropAnswers).toBeUndefined();
    expectBadRequest(await t.admin.request("PUT", "/faults", { body: { dropAnswers: "often" } }));
    expectBadRequest(await t.admin.request("PUT", "/faults", { rawBody: "{" }));
  });

  it("POST /connections/:id/reset answers 404 for an unknown connection", async () => {
    expectNotFound(await t.admin.request("POST", "/connections/no-such-connection/reset", { body: {} }));
  });

  it("PUT /config applies and answers the effective config; 400 on invalid values", async () => {
    const effective = await t.admin.setConfig({ pendingLimit: 50, drainGraceMs: 1234 });
    expect(effective).toMatchObject({ pendingLimit: 50, drainGraceMs: 1234 });
    expectBadRequest(await t.admin.request("PUT", "/config", { body: { pendingLimit: "many" } }));
    expectBadRequest(await t.admin.request("PUT", "/config", { body: { pendingLimit: -1 } }));
    const restored = await t.admin.setConfig({ pendingLimit: 100, drainGraceMs: 5000 });
    expect(restored).toMatchObject({ pendingLimit: 100, drainGraceMs: 5000 });
  });

  it("PUT /config autoRegisterDevices false makes unknown tokens BAD_REGISTRATION", async () => {
    await t.admin.setConfig({ autoRegisterDevices: false });
    try {
      const c = await t.clients.online();
      const tok = token();
      const answer = await c.request({ to: tok });
      expect(answer.json.error).toBe("BAD_REGISTRATION");
    } finally {
      await t.admin.setConfig({ autoRegisterDevices: true });
    }
  });
});

describe("reset", () => {
  it("POST /reset clears devices, ledger, counters and faults but keeps connections", async () => {
    const resource = uniqueName("rs");
    const c = await t.clients.online(SENDER_A, resource);
    const tok = token();
    const id = await c.sendDownstream({ to: tok });
    await c.answer(id);
    await t.admin.setFaults({ nack: { SERVICE_UNAVAILABLE: 1 } });
    const answer = await t.admin.request("POST", "/reset", { body: {} });
    expect(answer.status).toBeLessThan(300);
    expect(await t.admin.ok("GET", "/devices")).toEqual([]);
    expect(await t.admin.ledger()).toMatchObject({ devices: 0, messages: 0, deliveries: 0, duplicates: 0 });
    const stats = await t.admin.stats();
    for (const key of COUNTER_KEYS) {
      if (key === "nacked") expect(Object.values(stats.counters.nacked).every((n) => n === 0)).toBe(true);
      else expect(stats.counters[key], `counter ${key} after reset`).toBe(0);
    }
    const faults = await t.admin.ok<Record<string, unknown>>("GET", "/faults");
    expect(faults.nack).toBeUndefined();
    expect(stats.connections.find((x) => x.resource === resource)?.state).toBe("online");
    const after = await c.sendDownstream({ to: tok });
    expectAck(await c.answer(after), tok, after);
  });
});

describe("in-process control", () => {
  it("mirrors the admin routes: addDevice, device, ledger, sendUpstream, stats, drain, setFaults, reset", async () => {
    const control = t.emu.control;
    const resource = uniqueName("ctl");
    const c = await t.clients.online(SENDER_A, resource);
    const tok = token();
    const dev = await control.addDevice({ token: tok, online: false });
    expect(dev).toMatchObject({ token: tok, online: false });
    expect((await t.admin.device(tok)).online).toBe(false);
    expect(await control.device(tok)).toMatchObject({ token: tok, online: false });
    const up = await control.sendUpstream({ from: tok, category: "com.ctl", data: { a: "b" } });
    const got = await c.gcm((j) => j.message_id === up.messageId);
    await c.ackUpstream(tok, String(got.json.message_id));
    await control.setFaults({ nack: { QUOTA_EXCEEDED: 1 } });
    const nack = await c.request({ to: tok });
    expect(nack.json.error).toBe("QUOTA_EXCEEDED");
    await control.setFaults({});
    const stats = await control.stats();
    expect(stats.connections.some((x) => x.resource === resource)).toBe(true);
    expect(await control.ledger()).toMatchObject({ deliveries: 0 });
    const conn = stats.connections.find((x) => x.resource === resource);
    const drained = await control.drain({ connectionId: conn?.id ?? "" });
    expect(drained.drained).toEqual([conn?.id]);
    await c.next((i) => asGcm(i)?.json.message_type === "control");
    await control.reset();
    expect(await t.admin.ok("GET", "/devices")).toEqual([]);
  });
});

describe("PUT /config takes effect", () => {
  it("pendingLimit and ackLatency from PUT /config apply to new messages", async () => {
    const local = await startTestEmulator();
    try {
      await local.admin.setConfig({ pendingLimit: 2, ackLatency: { kind: "fixed", ms: 1_500 } });
      const c = await local.clients.online();
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push(await c.sendDownstream({ to: token() }));
      for (const id of ids) await c.answer(id, 5_000);
      expect((await local.admin.stats()).counters.pendingViolations).toBe(1);
    } finally {
      await local.stop();
    }
  });

  it("strictPendingLimit, deviceRateLimit and drainGraceMs from PUT /config apply", async () => {
    const local = await startTestEmulator();
    try {
      await local.admin.setConfig({ deviceRateLimit: { messages: 1, perMs: 60_000 }, drainGraceMs: 300 });
      const c = await local.clients.online(SENDER_A, "cfg");
      const to = token();
      expect((await c.request({ to })).json.message_type).toBe("ack");
      expect((await c.request({ to })).json.error).toBe("DEVICE_MESSAGE_RATE_EXCEEDED");
      const { id } = await local.admin.connectionByResource("cfg");
      await local.admin.drain({ connectionId: id });
      await c.waitClosed(3_000);
      await local.admin.setConfig({
        deviceRateLimit: null,
        strictPendingLimit: true,
        pendingLimit: 1,
        ackLatency: { kind: "fixed", ms: 1_000 },
      });
      const strict = await local.clients.online();
      await strict.sendDownstream({ to: token() });
      await strict.sendDownstream({ to: token() });
      const err = await strict.streamError(3_000);
      expect(err.el.children[0]?.local).toBe("policy-violation");
    } finally {
      await local.stop();
    }
  });
});
