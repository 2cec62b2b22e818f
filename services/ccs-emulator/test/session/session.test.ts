import { connect as netConnect } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type RunningEmulator, startEmulator } from "../../src/index.ts";
import { eventually, isStanza, STREAM_OPEN, TestClient } from "./tls-client.ts";

const A = { senderId: "111111", apiKey: "key-a" };
const B = { senderId: "222222", apiKey: "key-b" };
let emu: RunningEmulator;
const clients: TestClient[] = [];
let tokenSeq = 0;
const token = () => `tok${process.pid}x${++tokenSeq}:APA91bSession`;

async function client(): Promise<TestClient> {
  const c = await TestClient.connect(emu.port, emu.caPem);
  clients.push(c);
  return c;
}

async function online(sender = A, resource?: string): Promise<TestClient> {
  const c = await client();
  await c.login(sender.senderId, sender.apiKey, resource);
  return c;
}

beforeAll(async () => {
  emu = await startEmulator({
    port: 0,
    adminPort: 0,
    senders: [A, B],
    seed: 42,
    keepaliveIntervalMs: 100,
    maxConnectionsPerSender: 3,
    drainGraceMs: 300,
  });
});
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await eventually(
    () => emu.control.stats().connections.length,
    (n) => n === 0,
    "every connection of the test closed",
  );
  emu.control.reset();
});
afterAll(async () => {
  await emu.stop();
  await emu.stop();
});

describe("session", () => {
  it("answers the stream header and lists the documented mechanisms", async () => {
    const c = await client();
    c.send(STREAM_OPEN);
    await c.next(isStanza("features"), "features");
    expect(c.raw).toMatch(
      /^<stream:stream from="gcm\.googleapis\.com" id="[0-9a-f]+" version="1\.0" xmlns:stream="http:\/\/etherx\.jabber\.org\/streams" xmlns="jabber:client">/,
    );
    expect(c.raw).toContain(
      '<str:features xmlns:str="http://etherx.jabber.org/streams"><mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>X-OAUTH2</mechanism><mechanism>X-GOOGLE-TOKEN</mechanism><mechanism>PLAIN</mechanism></mechanisms></str:features>',
    );
  });

  it("refuses a wrong key with <not-authorized/> and closes the stream", async () => {
    const c = await client();
    await expect(c.authenticate(`${A.senderId}@gcm.googleapis.com`, "wrong")).rejects.toThrow(/failed/);
    await c.waitClosed();
    expect(c.raw).toContain(
      '<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><not-authorized/></failure></stream:stream>',
    );
    expect(c.raw).not.toContain("wrong");
    expect(emu.control.stats().bySender[A.senderId]?.authFailures).toBe(1);
  });

  it("accepts the bare sender ID and binds ID@gcm.googleapis.com/RESOURCE", async () => {
    const c = await client();
    await c.authenticate(A.senderId, A.apiKey);
    c.send(STREAM_OPEN);
    await c.next(isStanza("features"), "bind features", 5000, 2);
    c.send(
      '<iq type="set" id="b"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>r1</resource></bind></iq>',
    );
    await c.next((r) => r.kind === "stanza" && r.el.attrs.id === "b", "bind");
    expect(c.raw).toContain(`<jid>${A.senderId}@gcm.googleapis.com/r1</jid>`);
  });

  it("answers XMPP pings and sends whitespace keepalives", async () => {
    const c = await online();
    c.send('<iq type="get" id="p1" to="gcm.googleapis.com"><ping xmlns="urn:xmpp:ping"/></iq>');
    const pong = await c.next((r) => r.kind === "stanza" && r.el.attrs.id === "p1", "pong");
    expect(pong.kind === "stanza" && pong.el.attrs.type).toBe("result");
    const before = c.raw.length;
    await eventually(
      () => c.raw.slice(before),
      (s) => s.includes(" "),
      "a keepalive",
    );
  });

  it("refuses messages before bind with a not-authorized stream error", async () => {
    const c = await client();
    await c.authenticate(A.senderId, A.apiKey);
    c.send(STREAM_OPEN);
    c.send('<message id="x"><gcm xmlns="google:mobile:data">{}</gcm></message>');
    await c.waitClosed();
    expect(c.raw).toContain(
      '<stream:error><not-authorized xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error>',
    );
  });

  it("enforces the per-sender connection limit", async () => {
    await Promise.all([online(), online(), online()]);
    const c = await client();
    await expect(c.authenticate(A.senderId, A.apiKey)).rejects.toThrow(/failed/);
    expect(emu.control.stats().bySender[A.senderId]?.connectionLimitRefusals).toBe(1);
    await online(B);
  });

  it("refuses STARTTLS inside the TLS stream", async () => {
    const c = await client();
    c.send(STREAM_OPEN);
    await c.next(isStanza("features"), "features");
    c.send('<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>');
    await c.waitClosed();
    expect(c.raw).toContain('<failure xmlns="urn:ietf:params:xml:ns:xmpp-tls"/></stream:stream>');
  });

  it("drops a plaintext client", async () => {
    const socket = netConnect({ host: "127.0.0.1", port: emu.port });
    let got = "";
    socket.on("data", (d) => {
      got += d.toString("latin1");
    });
    socket.on("error", () => {});
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(STREAM_OPEN);
    await new Promise<void>((resolve) => socket.once("close", () => resolve()));
    expect(got).not.toContain("<stream:stream");
  });

  it("answers bad XML with a stream error and keeps serving others", async () => {
    const bystander = await online();
    const c = await online();
    c.send("<message><unclosed></message>");
    await c.waitClosed();
    expect(c.raw).toContain("<stream:error><not-well-formed");
    const to = token();
    const id = bystander.sendDownstream({ to });
    expect((await bystander.answer(id)).message_type).toBe("ack");
  });
});

describe("downstream", () => {
  it("ACKs a valid message and delivers it to the device", async () => {
    const c = await online();
    const to = token();
    const id = c.sendDownstream({ to, data: { hello: "world" } });
    expect(await c.answer(id)).toEqual({ from: to, message_id: id, message_type: "ack" });
    expect(emu.control.device(to)?.ledger).toMatchObject([{ messageId: id, senderId: A.senderId, count: 1 }]);
  });

  it("answers a message without message_id with the documented stanza error", async () => {
    const c = await online(A, "res-x");
    c.send('<message id="3"><gcm xmlns="google:mobile:data">{"random": "text"}</gcm></message>');
    const err = await c.next((r) => r.kind === "stanza" && r.el.attrs.type === "error", "stanza error");
    if (err.kind !== "stanza") throw new Error("unreachable");
    expect(err.el.attrs).toMatchObject({ id: "3", to: `${A.senderId}@gcm.googleapis.com/res-x` });
    expect(c.raw).toContain(
      '<error code="400" type="modify"><bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">InvalidJson: JSON_PARSING_ERROR : Missing Required Field: message_id</text></error>',
    );
    expect(emu.control.stats().counters.stanzaErrors).toBe(1);
  });

  it("NACKs with the documented texts", async () => {
    const c = await online();
    const bad = c.sendDownstream({ to: "SomeInvalid RegistrationId" });
    expect(await c.answer(bad)).toMatchObject({
      message_type: "nack",
      error: "BAD_REGISTRATION",
      error_description: "Invalid token on 'to' field: SomeInvalid RegistrationId",
    });
    const ttl = c.sendDownstream({ to: token(), time_to_live: "abc" });
    expect(await c.answer(ttl)).toMatchObject({
      error: "INVALID_JSON",
      error_description:
        'InvalidJson: JSON_TYPE_ERROR : Field "time_to_live" must be a JSON java.lang.Number: abc',
    });
    const gone = token();
    emu.control.addDevice({ token: gone });
    emu.control.unregisterDevice(gone);
    expect(await c.answer(c.sendDownstream({ to: gone }))).toMatchObject({ error: "DEVICE_UNREGISTERED" });
    expect(emu.control.stats().counters.nacked).toEqual({
      BAD_REGISTRATION: 1,
      INVALID_JSON: 1,
      DEVICE_UNREGISTERED: 1,
    });
  });

  it("ACKs a rotated token with the canonical registration_id and delivers to the canonical device", async () => {
    const c = await online();
    const old = token();
    const canonical = token();
    emu.control.addDevice({ token: old });
    emu.control.rotateDevice(old, { canonicalToken: canonical });
    const id = c.sendDownstream({ to: old });
    expect(await c.answer(id)).toEqual({
      from: old,
      message_id: id,
      message_type: "ack",
      registration_id: canonical,
    });
    expect(emu.control.device(canonical)?.ledger.map((e) => e.messageId)).toEqual([id]);
  });

  it("NACKs DEVICE_MESSAGE_RATE_EXCEEDED over the device rate", async () => {
    emu.control.setConfig({ deviceRateLimit: { messages: 2, perMs: 60_000 } });
    try {
      const c = await online();
      const to = token();
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await c.answer(c.sendDownstream({ to })));
      expect(answers.map((a) => a.error ?? "ack")).toEqual(["ack", "ack", "DEVICE_MESSAGE_RATE_EXCEEDED"]);
      expect(answers[2]?.error_description).toBe("Downstream message rate exceeded for this registration id");
    } finally {
      emu.control.setConfig({ deviceRateLimit: null });
    }
  });

  it("counts pending-window violations, and closes with <policy-violation/> in strict mode", async () => {
    emu.control.setConfig({ ackLatency: { kind: "fixed", ms: 300 }, pendingLimit: 2 });
    try {
      const c = await online();
      const ids = [0, 1, 2].map(() => c.sendDownstream({ to: token() }));
      for (const id of ids) expect((await c.answer(id)).message_type).toBe("ack");
      const stats = emu.control.stats();
      expect(stats.counters.pendingViolations).toBe(1);
      emu.control.setConfig({ strictPendingLimit: true });
      const strict = await online();
      for (let i = 0; i < 3; i++) strict.sendDownstream({ to: token() });
      await strict.waitClosed();
      expect(strict.raw).toContain(
        '<stream:error><policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error></stream:stream>',
      );
    } finally {
      emu.control.setConfig({
        ackLatency: { kind: "fixed", ms: 0 },
        pendingLimit: 100,
        strictPendingLimit: false,
      });
    }
  });

  it("sends a dr2: receipt that must be ACKed like an upstream message", async () => {
    const c = await online();
    const to = token();
    emu.control.addDevice({ token: to, category: "com.example.receipts" });
    const id = c.sendDownstream({ to, delivery_receipt_requested: true });
    await c.answer(id);
    const receipt = await c.gcm((j) => j.message_type === "receipt", "receipt");
    expect(receipt.json).toMatchObject({
      category: "com.example.receipts",
      message_id: `dr2:${id}`,
      from: "gcm.googleapis.com",
      time_to_live: 0,
      data: { message_status: "MESSAGE_SENT_TO_DEVICE", original_message_id: id, device_registration_id: to },
    });
    c.ackUpstream("gcm.googleapis.com", `dr2:${id}`);
    await eventually(
      () => emu.control.stats().counters,
      (k) => k.upstreamAcked === 1 && k.receiptsSent === 1,
      "the receipt ACK",
    );
  });
});

describe("draining", () => {
  it("sends CONNECTION_DRAINING, NACKs new downstream, answers pending ones, then closes", async () => {
    emu.control.setConfig({ ackLatency: { kind: "fixed", ms: 150 } });
    try {
      const c = await online();
      const pending = c.sendDownstream({ to: token() });
      await eventually(
        () => emu.control.stats().connections.find((x) => x.pending > 0),
        (x) => x !== undefined,
        "a pending message",
      );
      const conn = emu.control.stats().connections.find((x) => x.pending > 0);
      expect(emu.control.drain({ connectionId: conn?.id ?? "" })).toEqual({ drained: [conn?.id] });
      await c.gcm((j) => j.message_type === "control" && j.control_type === "CONNECTION_DRAINING", "control");
      expect(c.raw).toContain(
        '<data:gcm xmlns:data="google:mobile:data">{"message_type":"control","control_type":"CONNECTION_DRAINING"}</data:gcm>',
      );
      const late = c.sendDownstream({ to: token() });
      expect(await c.answer(late)).toMatchObject({ message_type: "nack", error: "CONNECTION_DRAINING" });
      expect((await c.answer(pending)).message_type).toBe("ack");
      emu.control.sendUpstream({ from: token(), category: "c", data: {} });
      await c.waitClosed(3000);
      expect(c.raw.endsWith("</stream:stream>")).toBe(true);
      expect(c.received.some((r) => r.kind === "stanza" && r.json?.category === "c")).toBe(false);
      expect(emu.control.stats().counters.drainsSent).toBe(1);
    } finally {
      emu.control.setConfig({ ackLatency: { kind: "fixed", ms: 0 } });
    }
  });
});

describe("upstream", () => {
  it("delivers to one connection; only that connection's ACK counts; un-ACKed ones go to the next new connection", async () => {
    const first = await online(A, "first");
    const device = token();
    const { messageId } = emu.control.sendUpstream({
      from: device,
      category: "com.example",
      data: { k: "v" },
    });
    const up = await first.gcm((j) => j.message_id === messageId, "upstream");
    expect(up.json).toEqual({
      category: "com.example",
      data: { k: "v" },
      message_id: messageId,
      from: device,
    });
    if (up.kind === "stanza") {
      expect(up.el.attrs).toMatchObject({
        to: `${A.senderId}@gcm.googleapis.com`,
        from: "devices@gcm.googleapis.com",
        type: "normal",
      });
    }
    const other = await online(A, "other");
    other.ackUpstream(device, messageId);
    await eventually(
      () => emu.control.stats().counters.upstreamMisroutedAcks,
      (n) => n === 1,
      "a misrouted ACK",
    );
    first.close();
    await eventually(
      () => emu.control.stats().bySender[A.senderId]?.awaitingNewConnection,
      (n) => n === 1,
      "the un-ACKed message waiting for a new connection",
    );
    // Not resent on "other", which was already open: only "the next time a new XMPP connection is
    // established" (reference 001).
    const next = await online(A, "next");
    const again = await next.gcm((j) => j.message_id === messageId, "redelivery");
    expect(again.json.from).toBe(device);
    expect(other.received.some((r) => r.kind === "stanza" && r.json?.message_id === messageId)).toBe(false);
    next.ackUpstream(device, messageId);
    await eventually(
      () => emu.control.stats().counters,
      (k) => k.upstreamAcked === 1 && k.upstreamRedeliveries === 1 && k.upstreamDelivered === 1,
      "the ACK of the redelivery",
    );
  });
});

describe("abrupt reset", () => {
  it("resets a connection by admin command", async () => {
    const c = await online();
    const id = emu.control.stats().connections[0]?.id ?? "";
    expect(emu.control.resetConnection(id)).toEqual({ reset: id });
    await c.waitClosed();
    expect(emu.control.stats().counters.resets).toBe(1);
  });
});
