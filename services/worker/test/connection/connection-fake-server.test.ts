// Connection and slot behaviour against a scriptable fake CCS server (fast, deterministic scripting).
// The same behaviours are checked against the real emulator in emulator.integration.test.ts.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CcsConnection, SendResult } from "../../src/connection/contract.ts";
import { AuthenticationError, IllegalStateError } from "../../src/connection/errors.ts";
import {
  type CcsConnectionSlot,
  createConnectionSlot,
  type SlotOptions,
} from "../../src/connection/index.ts";
import { type FakeCcsServer, makeCert, startFakeCcs, type TestCert } from "./support/fake-ccs-server.ts";
import { type LogRecord, recordingLogger } from "./support/recording-logger.ts";
import { UpstreamInbox } from "./support/upstream-inbox.ts";
import { nextEvent, waitFor } from "./support/wait.ts";

let cert: TestCert;
let otherCert: TestCert;
beforeAll(() => {
  cert = makeCert();
  otherCert = makeCert("someone-else");
});

const cleanups: Array<() => Promise<void>> = [];
/** Every upstream delivery of the file's connections (tests pick theirs by connection id). */
const inbox = new UpstreamInbox();
afterEach(async () => {
  inbox.received.length = 0;
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(): Promise<FakeCcsServer> {
  const s = await startFakeCcs({ cert });
  cleanups.push(() => s.stop());
  return s;
}

function slotFor(
  s: FakeCcsServer,
  extra: Partial<SlotOptions> = {},
  records: LogRecord[] = [],
): CcsConnectionSlot {
  const slot = createConnectionSlot({
    senderId: "123456789012",
    apiKey: "key",
    slotIndex: 0,
    upstream: inbox.sink,
    service: { host: "127.0.0.1", port: s.port, caPem: s.caPem },
    logger: recordingLogger(records),
    ...extra,
  });
  cleanups.push(() => slot.close(0));
  return slot;
}

async function online(slot: CcsConnectionSlot): Promise<CcsConnection> {
  const p = nextEvent<[CcsConnection]>(slot, "connection", 10_000);
  if (slot.status === "idle") slot.start();
  const [c] = await p;
  return c;
}

describe("connection against a fake CCS", () => {
  it("connects over TLS, authenticates with PLAIN as senderId@gcm.googleapis.com, sends and gets the ACK", async () => {
    const s = await server();
    const slot = slotFor(s);
    const states: string[] = [];
    slot.on("connection", (c) => states.push(`online:${c.state}`));
    const c = await online(slot);
    expect(c.state).toBe("online");
    expect(c.room()).toBe(100);
    const auth = s.connections[0]?.received.find((r) => r.startsWith("<auth"));
    const b64 = /<auth[^>]*>([^<]+)<\/auth>/.exec(auth ?? "")?.[1] ?? "";
    expect(Buffer.from(b64, "base64").toString("utf8")).toBe(
      "\u0000123456789012@gcm.googleapis.com\u0000key",
    );
    expect(s.connections[0]?.received.some((r) => r.includes("xmpp-session"))).toBe(true);
    await expect(c.send({ to: "tok", message_id: "m1" })).resolves.toEqual({ kind: "ack" });
    expect(c.pending).toBe(0);
  });

  it("send() without room or when not online throws IllegalStateError", async () => {
    const s = await server();
    s.onDownstream = () => undefined; // never answer
    const slot = slotFor(s, { windowSize: 2 });
    const c = await online(slot);
    void c.send({ to: "t", message_id: "a" });
    expect(() => c.send({ to: "t", message_id: "a" })).toThrow(IllegalStateError);
    void c.send({ to: "t", message_id: "b" });
    expect(c.room()).toBe(0);
    expect(() => c.send({ to: "t", message_id: "c" })).toThrow(IllegalStateError);
  });

  it("never has more than windowSize messages pending at the server while pushing 2,000", async () => {
    const s = await server();
    // Answer asynchronously, in bursts, like a real server.
    s.onDownstream = (conn, p) => setImmediate(() => conn.ack(p.message_id, p.to));
    const slot = slotFor(s, { windowSize: 10 });
    const c = await online(slot);
    const total = 2000;
    let sent = 0;
    const results: Promise<SendResult>[] = [];
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (sent < total && c.room() > 0) results.push(c.send({ to: "t", message_id: `m${sent++}` }));
        if (sent === total) resolve();
      };
      c.on("room", pump);
      pump();
    });
    const settled = await Promise.all(results);
    expect(settled.every((r) => r.kind === "ack")).toBe(true);
    expect(s.connections[0]?.maxPending).toBeLessThanOrEqual(10);
    expect(s.connections[0]?.maxPending).toBeGreaterThan(1);
  });

  it("a lost connection settles every pending send as lost/connection-closed and the slot reconnects at once", async () => {
    const s = await server();
    s.onDownstream = () => undefined;
    const records: LogRecord[] = [];
    const slot = slotFor(s, { backoff: { initialMs: 60_000, maxMs: 60_000 } }, records);
    const c = await online(slot);
    const sends = [1, 2, 3].map((i) => c.send({ to: "t", message_id: `m${i}` }));
    await waitFor(() => s.connections[0]?.pending.size === 3, { timeoutMs: 5000, description: "3 pending" });
    const next = nextEvent<[CcsConnection]>(slot, "connection", 5000);
    s.connections[0]?.socket.destroy();
    for (const r of await Promise.all(sends))
      expect(r).toEqual({ kind: "lost", reason: "connection-closed" });
    expect(c.state).toBe("closed");
    const [c2] = await next; // within 5 s although the backoff is 60 s: no backoff after auth
    expect(c2.id).not.toBe(c.id);
    expect(slot.connections()).toEqual([c2]);
  });

  it("an answer that never comes settles as lost/answer-timeout; ghosts keep their slot; too many recycle the connection", async () => {
    const s = await server();
    s.onDownstream = () => undefined;
    const slot = slotFor(s, { windowSize: 8, answerTimeoutMs: 200 });
    const c = await online(slot);
    const first = c.send({ to: "t", message_id: "g1" });
    await expect(first).resolves.toEqual({ kind: "lost", reason: "answer-timeout" });
    expect(c.pending).toBe(1);
    expect(c.room()).toBe(7);
    // A late ACK frees the ghost's slot.
    s.connections[0]?.ack("g1");
    await waitFor(() => c.pending === 0, { timeoutMs: 2000, description: "ghost freed" });
    // More than a quarter of the window (2 of 8) as ghosts → recycle: replacement opens, old one closes.
    const replacement = nextEvent<[CcsConnection]>(slot, "connection", 5000);
    const sends = [1, 2, 3].map((i) => c.send({ to: "t", message_id: `h${i}` }));
    for (const r of await Promise.all(sends)) expect(r).toEqual({ kind: "lost", reason: "answer-timeout" });
    const [c2] = await replacement;
    expect(c2.id).not.toBe(c.id);
    await waitFor(() => c.state === "closed", { timeoutMs: 5000, description: "recycled connection closed" });
  });

  it("draining: no new sends, the old connection still collects answers, a replacement opens at once", async () => {
    const s = await server();
    s.onDownstream = () => undefined;
    const slot = slotFor(s);
    const c = await online(slot);
    const pending = c.send({ to: "t", message_id: "d1" });
    await waitFor(() => s.connections[0]?.pending.size === 1, { timeoutMs: 5000, description: "pending" });
    const draining = nextEvent<[CcsConnection]>(slot, "draining", 5000);
    const replacement = nextEvent<[CcsConnection]>(slot, "connection", 5000);
    s.connections[0]?.send(
      `<message><data:gcm xmlns:data="google:mobile:data">{"message_type":"control","control_type":"CONNECTION_DRAINING"}</data:gcm></message>`,
    );
    const [d] = await draining;
    expect(d).toBe(c);
    expect(c.state).toBe("draining");
    expect(c.room()).toBe(0);
    expect(() => c.send({ to: "t", message_id: "d2" })).toThrow(IllegalStateError);
    const [c2] = await replacement;
    expect(slot.connections()).toEqual([c2, c]);
    s.connections[0]?.ack("d1");
    await expect(pending).resolves.toEqual({ kind: "ack" });
    s.connections[0]?.send("</stream:stream>");
    await waitFor(() => c.state === "closed", { timeoutMs: 5000, description: "drained connection closed" });
    expect(slot.connections()).toEqual([c2]);
  });

  it("a draining connection the server never closes is closed after drainTimeoutMs; what is left is lost", async () => {
    const s = await server();
    s.onDownstream = () => undefined;
    const slot = slotFor(s, { drainTimeoutMs: 300 });
    const c = await online(slot);
    const pending = c.send({ to: "t", message_id: "dt1" });
    await waitFor(() => s.connections[0]?.pending.size === 1, { timeoutMs: 5000, description: "pending" });
    s.connections[0]?.send(
      `<message><gcm xmlns="google:mobile:data">{"message_type":"control","control_type":"CONNECTION_DRAINING"}</gcm></message>`,
    );
    await expect(pending).resolves.toEqual({ kind: "lost", reason: "connection-closed" });
    expect(c.state).toBe("closed");
  });

  it("a CONNECTION_DRAINING NACK settles as nack and drains the connection", async () => {
    const s = await server();
    s.onDownstream = (conn, p) =>
      conn.send(
        `<message><gcm xmlns="google:mobile:data">{"message_type":"nack","message_id":"${p.message_id}","error":"CONNECTION_DRAINING"}</gcm></message>`,
      );
    const slot = slotFor(s);
    const c = await online(slot);
    await expect(c.send({ to: "t", message_id: "n1" })).resolves.toMatchObject({
      kind: "nack",
      code: "CONNECTION_DRAINING",
    });
    expect(c.state).toBe("draining");
  });

  it("stanza errors settle as stanza-error", async () => {
    const s = await server();
    s.onDownstream = (conn, p) =>
      conn.send(
        `<message id="${p.message_id}" type="error"><gcm xmlns="google:mobile:data">{}</gcm><error code="400" type="modify"><bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">InvalidJson</text></error></message>`,
      );
    const c = await online(slotFor(s));
    await expect(c.send({ to: "t", message_id: "e1" })).resolves.toEqual({
      kind: "stanza-error",
      error: { code: "400", type: "modify", condition: "bad-request", text: "InvalidJson" },
    });
  });

  it("delivers upstream messages and ACKs them on the same connection; whitespace keepalives are ignored", async () => {
    const s = await server();
    const slot = slotFor(s);
    const c = await online(slot);
    const got = inbox.next((d) => d.connectionId === c.id);
    const payload = `{"category":"com.x","data":{"k":"v"},"message_id":"1","from":"devtok"}`;
    s.connections[0]?.send(
      ` <message from="devices@gcm.googleapis.com"><gcm xmlns="google:mobile:data">${payload}</gcm></message> `,
    );
    const d = await got;
    expect(d).toMatchObject({
      kind: "upstream",
      from: "devtok",
      messageId: "1",
      category: "com.x",
      connectionId: c.id,
    });
    expect(d.payloadJson).toBe(payload);
    expect(d.ack()).toBe(true);
    await waitFor(() => s.upstreamAcks.length === 1, { timeoutMs: 5000, description: "upstream ack" });
    expect(s.upstreamAcks[0]).toEqual({ connection: s.connections[0]?.id, to: "devtok", message_id: "1" });
    s.connections[0]?.socket.destroy();
    await waitFor(() => c.state === "closed", { timeoutMs: 5000, description: "closed" });
    expect(d.ack()).toBe(false);
  });

  it("answers server pings and pings the server when idle", async () => {
    const s = await server();
    const c = await online(slotFor(s, { pingIntervalMs: 100 }));
    s.connections[0]?.send(
      `<iq type="get" id="srv1" from="gcm.googleapis.com"><ping xmlns="urn:xmpp:ping"/></iq>`,
    );
    await waitFor(
      () => s.connections[0]?.received.some((r) => r.includes('id="srv1"') && r.includes("result")),
      {
        timeoutMs: 5000,
        description: "pong",
      },
    );
    await waitFor(() => s.connections[0]?.received.some((r) => r.includes("urn:xmpp:ping")), {
      timeoutMs: 5000,
      description: "client ping",
    });
    expect(c.state).toBe("online");
  });

  it("a refused key is reported loudly and retried with backoff, never a storm", async () => {
    const s = await server();
    s.acceptKey = "the-real-key";
    const records: LogRecord[] = [];
    const slot = slotFor(
      s,
      { apiKey: "wrong-key", backoff: { initialMs: 200, maxMs: 5000, jitter: 0.5 } },
      records,
    );
    const failures: Array<[Error, number]> = [];
    slot.on("authFailed", (e, ms) => failures.push([e, ms]));
    slot.start();
    await waitFor(() => failures.length >= 3, { timeoutMs: 10_000, description: "3 auth failures" });
    const [err] = failures[0] ?? [];
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as AuthenticationError).condition).toBe("not-authorized");
    // Delays grow: 100–200, 200–400, 400–800 ms.
    expect(failures.map(([, ms]) => ms)).toEqual([
      expect.toSatisfy((ms: number) => ms >= 100 && ms <= 200),
      expect.toSatisfy((ms: number) => ms >= 200 && ms <= 400),
      expect.toSatisfy((ms: number) => ms >= 400 && ms <= 800),
    ]);
    expect(s.authAttempts).toBeLessThanOrEqual(4);
    const loud = records.filter((r) => r.level === "error");
    expect(loud.length).toBeGreaterThanOrEqual(3);
    expect(JSON.stringify(records)).not.toContain("wrong-key");
    expect(String(err?.message)).not.toContain("wrong-key");
  });

  it("verifies the server certificate by default: an untrusted CA fails before auth", async () => {
    const s = await server();
    const records: LogRecord[] = [];
    const slot = slotFor(
      s,
      {
        service: { host: "127.0.0.1", port: s.port, caPem: otherCert.certPem },
        backoff: { initialMs: 60_000, maxMs: 60_000 },
      },
      records,
    );
    slot.start();
    await waitFor(() => records.some((r) => r.msg?.includes("failed before authentication")), {
      timeoutMs: 5000,
      description: "TLS failure logged",
    });
    expect(s.authAttempts).toBe(0);
    expect(slot.connections()).toEqual([]);
    const fail = records.find((r) => r.msg?.includes("failed before authentication"));
    expect(JSON.stringify(fail?.obj)).toMatch(/certificate|self.signed|unable to verify/i);
  });

  it("close() is idempotent and settles what is left as lost after the grace period", async () => {
    const s = await server();
    s.onDownstream = () => undefined;
    const slot = slotFor(s);
    const c = await online(slot);
    const p = c.send({ to: "t", message_id: "x1" });
    const a = slot.close(100);
    const b = slot.close(100);
    expect(a).toBe(b);
    await a;
    await expect(p).resolves.toEqual({ kind: "lost", reason: "connection-closed" });
    expect(c.state).toBe("closed");
    expect(slot.status).toBe("closed");
  });
});
