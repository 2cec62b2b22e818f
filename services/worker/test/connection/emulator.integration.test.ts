// The connection layer against the real CCS emulator (in-process startEmulator), driven through its
// admin API (HTTP for connection resets, in-process control for the rest).
import {
  DEMO_SENDER,
  generateSelfSignedCertificate,
  type RunningEmulator,
  startEmulator,
} from "@ccs/ccs-emulator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CcsConnection, SendResult } from "../../src/connection/contract.ts";
import { AuthenticationError, IllegalStateError } from "../../src/connection/errors.ts";
import {
  type CcsConnectionSlot,
  createConnectionSlot,
  type SlotOptions,
} from "../../src/connection/index.ts";
import type { XmppCcsConnection } from "../../src/connection/xmpp-connection.ts";
import { type LogRecord, recordingLogger } from "./support/recording-logger.ts";
import { UpstreamInbox } from "./support/upstream-inbox.ts";
import { nextEvent, waitFor } from "./support/wait.ts";

const TOKEN = "device-token-0123456789abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLMNOP";
let emu: RunningEmulator;

beforeAll(async () => {
  emu = await startEmulator({
    port: 0,
    adminPort: 0,
    drainGraceMs: 1_000,
    keepaliveIntervalMs: 200,
    seed: 7,
  });
});
afterAll(async () => {
  await emu?.stop();
});

const cleanups: Array<() => Promise<void>> = [];
/** Every upstream delivery of the file's connections (tests pick theirs by connection id). */
const inbox = new UpstreamInbox();
afterEach(async () => {
  inbox.received.length = 0;
  for (const c of cleanups.splice(0).reverse()) await c();
  emu.control.reset();
  emu.control.setConfig({ ackLatency: { kind: "fixed", ms: 0 } });
  await waitFor(() => emu.control.stats().connections.every((c) => c.state === "closed"), {
    timeoutMs: 5000,
    description: "emulator connections closed after the test",
  });
});

function slot(extra: Partial<SlotOptions> = {}, records: LogRecord[] = []): CcsConnectionSlot {
  const s = createConnectionSlot({
    senderId: DEMO_SENDER.senderId,
    apiKey: DEMO_SENDER.apiKey,
    slotIndex: 0,
    upstream: inbox.sink,
    service: { host: emu.host, port: emu.port, caPem: emu.caPem },
    logger: recordingLogger(records),
    ...extra,
  });
  cleanups.push(() => s.close(0));
  return s;
}

async function online(s: CcsConnectionSlot): Promise<XmppCcsConnection> {
  const p = nextEvent<[CcsConnection]>(s, "connection", 10_000);
  if (s.status === "idle") s.start();
  const [c] = await p;
  return c as XmppCcsConnection;
}

/** The emulator's id of one of our connections (matched by the bound resource). */
function serverIdOf(c: XmppCcsConnection): string {
  const resource = c.jid?.split("/")[1];
  const view = emu.control.stats().connections.find((v) => v.resource === resource && v.state !== "closed");
  if (view === undefined) throw new Error(`no emulator connection for ${c.jid}`);
  return view.id;
}

const counters = () => emu.control.stats().counters;

describe("connection layer against the CCS emulator", () => {
  it("connects, authenticates, sends and collects the ACK", async () => {
    const c = await online(slot());
    expect(c.jid).toMatch(new RegExp(`^${DEMO_SENDER.senderId}@gcm\\.googleapis\\.com/.+`));
    await expect(c.send({ to: TOKEN, message_id: "it-1", data: { hello: "world" } })).resolves.toEqual({
      kind: "ack",
    });
    expect(counters().acked).toBe(1);
  });

  it("writes nothing once the send gate closes, even what was queued before (a freeze past the lease)", async () => {
    const s = slot();
    let leaseValid = true;
    s.setSendGate(() => leaseValid);
    const c = await online(s);
    await expect(c.send({ to: TOKEN, message_id: "gate-0" })).resolves.toEqual({ kind: "ack" });
    // Queued while the lease held; the lease runs out before the batched write (as after SIGSTOP/SIGCONT).
    const queued = [1, 2, 3].map((i) => c.send({ to: TOKEN, message_id: `gate-${i}` }));
    leaseValid = false;
    await expect(Promise.all(queued)).resolves.toEqual([
      { kind: "lost", reason: "connection-closed" },
      { kind: "lost", reason: "connection-closed" },
      { kind: "lost", reason: "connection-closed" },
    ]);
    expect(c.state).toBe("closed");
    // The emulator saw only the message sent while the lease held.
    expect(counters().downstreamReceived).toBe(1);
    expect(emu.control.ledger().deliveries).toBe(1);
  });

  it("does not write an upstream ACK once the send gate closed, so the connection stays open for its grace", async () => {
    const s = slot();
    let leaseValid = true;
    s.setSendGate(() => leaseValid);
    const c = await online(s);
    const { messageId } = emu.control.sendUpstream({ from: TOKEN, category: "com.example", data: {} });
    const d = await inbox.next((x) => x.connectionId === c.id && x.messageId === messageId);
    leaseValid = false; // the slot is being handed over: its pending sends still get their answers
    expect(d.ack()).toBe(false);
    await new Promise((r) => setImmediate(r)); // a batched write would happen now
    expect(c.state).toBe("online");
    expect(counters().upstreamAcked).toBe(0);
  });

  it("never exceeds the pending window while pushing 5,000 messages (pendingViolations stays 0)", async () => {
    emu.control.setConfig({ ackLatency: { kind: "uniform", minMs: 0, maxMs: 3 } });
    const c = await online(slot());
    const total = 5000;
    let sent = 0;
    let maxPending = 0;
    const results: Promise<SendResult>[] = [];
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (sent < total && c.room() > 0) {
          results.push(c.send({ to: TOKEN, message_id: `w-${sent++}` }));
          maxPending = Math.max(maxPending, c.pending);
        }
        if (sent === total) resolve();
      };
      c.on("room", pump);
      pump();
    });
    const settled = await Promise.all(results);
    expect(settled.filter((r) => r.kind !== "ack")).toEqual([]);
    expect(maxPending).toBe(100);
    expect(counters().pendingViolations).toBe(0);
    expect(counters().acked).toBe(total);
  });

  it("a reset connection settles its pending sends as lost and the slot reconnects immediately", async () => {
    emu.control.setConfig({ ackLatency: { kind: "fixed", ms: 30_000 } });
    const s = slot({ backoff: { initialMs: 60_000, maxMs: 60_000 } });
    const c = await online(s);
    const sends = [1, 2, 3, 4, 5].map((i) => c.send({ to: TOKEN, message_id: `lost-${i}` }));
    await waitFor(() => emu.control.stats().bySender[DEMO_SENDER.senderId]?.pending === 5, {
      timeoutMs: 5000,
      description: "5 pending at the emulator",
    });
    const replacement = nextEvent<[CcsConnection]>(s, "connection", 5000);
    const res = await fetch(`${emu.adminUrl}/connections/${serverIdOf(c)}/reset`, { method: "POST" });
    expect(res.status).toBe(200);
    for (const r of await Promise.all(sends))
      expect(r).toEqual({ kind: "lost", reason: "connection-closed" });
    const [c2] = await replacement; // well within the 60 s backoff: no backoff after authentication
    expect(c2.state).toBe("online");
    expect(s.connections()).toEqual([c2]);
  });

  it("draining: a replacement opens at once; the old one still collects answers until the server closes it", async () => {
    emu.control.setConfig({ ackLatency: { kind: "fixed", ms: 300 } });
    const s = slot();
    const c = await online(s);
    const before = c.send({ to: TOKEN, message_id: "drain-1" });
    await waitFor(() => emu.control.stats().bySender[DEMO_SENDER.senderId]?.pending === 1, {
      timeoutMs: 5000,
      description: "1 pending",
    });
    const draining = nextEvent<[CcsConnection]>(s, "draining", 5000);
    const replacement = nextEvent<[CcsConnection]>(s, "connection", 5000);
    emu.control.drain({ connectionId: serverIdOf(c) });
    const [d] = await draining;
    expect(d).toBe(c);
    expect(c.room()).toBe(0);
    expect(() => c.send({ to: TOKEN, message_id: "drain-2" })).toThrow(IllegalStateError);
    const [c2] = await replacement;
    expect(s.connections()).toHaveLength(2);
    await expect(before).resolves.toEqual({ kind: "ack" }); // answered on the draining connection
    await expect(c2.send({ to: TOKEN, message_id: "drain-3" })).resolves.toEqual({ kind: "ack" });
    await waitFor(() => c.state === "closed", {
      timeoutMs: 5000,
      description: "server closes the drained one",
    });
    expect(s.connections()).toEqual([c2]);
  });

  it("answers the emulator drops settle as lost/answer-timeout", async () => {
    emu.control.setFaults({ dropAnswers: 1 });
    const c = await online(slot({ answerTimeoutMs: 300, windowSize: 100 }));
    await expect(c.send({ to: TOKEN, message_id: "drop-1" })).resolves.toEqual({
      kind: "lost",
      reason: "answer-timeout",
    });
    expect(c.pending).toBe(1); // CCS still counts it: the slot stays occupied
    expect(c.room()).toBe(99);
  });

  it("delivers upstream messages and ACKs them on the same connection", async () => {
    const c = await online(slot());
    const got = inbox.next((d) => d.connectionId === c.id);
    const { messageId } = emu.control.sendUpstream({
      from: TOKEN,
      category: "com.example",
      data: { k: "v" },
    });
    const d = await got;
    expect(d).toMatchObject({
      kind: "upstream",
      from: TOKEN,
      messageId,
      category: "com.example",
      connectionId: c.id,
    });
    expect(JSON.parse(d.payloadJson)).toMatchObject({ data: { k: "v" }, message_id: messageId });
    expect(d.ack()).toBe(true);
    await waitFor(() => counters().upstreamAcked === 1, { timeoutMs: 5000, description: "upstreamAcked" });
    expect(counters().upstreamMisroutedAcks).toBe(0);
  });

  it("delivers receipts (dr2: ids) and ACKs them", async () => {
    const c = await online(slot());
    const got = inbox.next((d) => d.kind === "receipt" && d.connectionId === c.id);
    await c.send({ to: TOKEN, message_id: "rcpt-1", delivery_receipt_requested: true });
    const d = await got;
    expect(d.messageId).toBe("dr2:rcpt-1");
    expect(d.ack()).toBe(true);
    await waitFor(() => counters().upstreamAcked === 1, { timeoutMs: 5000, description: "receipt acked" });
  });

  it("a refused key backs off with jitter: few attempts over 3 s, reported loudly, key never logged", async () => {
    const records: LogRecord[] = [];
    const s = slot(
      { apiKey: "not-the-key", backoff: { initialMs: 250, maxMs: 10_000, jitter: 0.5 } },
      records,
    );
    const failures: Array<[Error, number]> = [];
    s.on("authFailed", (e, ms) => failures.push([e, ms]));
    const refusedBefore = counters().authFailures;
    s.start();
    await waitFor(() => failures.length >= 1, { timeoutMs: 5000, description: "first auth failure" });
    expect(failures[0]?.[0]).toBeInstanceOf(AuthenticationError);
    const started = Date.now();
    await waitFor(() => Date.now() - started >= 3000, { timeoutMs: 5000, description: "3 s of retrying" });
    // 125–250, 250–500, 500–1000, 1000–2000 ms: at most 5 attempts in ~3 s (a storm would be hundreds).
    const attempts = counters().authFailures - refusedBefore;
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(6);
    expect(attempts - failures.length).toBeGreaterThanOrEqual(0); // the server counts before we hear back
    expect(attempts - failures.length).toBeLessThanOrEqual(1);
    expect(counters().connectionsOpened).toBe(0);
    expect(records.filter((r) => r.level === "error").length).toBe(failures.length);
    expect(JSON.stringify(records)).not.toContain("not-the-key");
  });

  it("verifies the certificate by default: a CA that did not sign the emulator's certificate fails", async () => {
    const other = await generateSelfSignedCertificate();
    const records: LogRecord[] = [];
    const s = slot(
      {
        service: { host: emu.host, port: emu.port, caPem: other.certPem },
        backoff: { initialMs: 60_000, maxMs: 60_000 },
      },
      records,
    );
    s.start();
    await waitFor(() => records.some((r) => r.msg?.includes("failed before authentication")), {
      timeoutMs: 5000,
      description: "TLS failure",
    });
    expect(counters().authFailures).toBe(0);
    expect(s.connections()).toEqual([]);
  });
});
