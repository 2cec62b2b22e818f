/**
 * Connection draining. Sources: reference 000/001/004 "Control messages" (CONNECTION_DRAINING in the
 * <data:gcm> form; keep the connection to receive and ACK; CCS closes it), NACK table (CONNECTION_DRAINING),
 * CONTRACT.md "Control" and POST /drain.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ConnectionId } from "../support/admin.ts";
import { expectAck, expectNack } from "../support/expectations.ts";
import {
  SENDER_A,
  SENDER_B,
  startTestEmulator,
  type TestEmulator,
  token,
  uniqueName,
  waitUntil,
} from "../support/fixtures.ts";
import { asGcm, type ClientItem, type RawXmppClient } from "../support/raw-xmpp-client.ts";

const CONTROL =
  '<message><data:gcm xmlns:data="google:mobile:data">' +
  '{"message_type":"control","control_type":"CONNECTION_DRAINING"}</data:gcm></message>';
const GRACE_MS = 600;

let t: TestEmulator;

beforeAll(async () => {
  t = await startTestEmulator({ drainGraceMs: GRACE_MS });
});
afterEach(async () => {
  await t.quiesce();
});
afterAll(async () => {
  await t.stop();
});

function isControl(item: ClientItem): boolean {
  const m = asGcm(item);
  return m?.json.message_type === "control" && m.json.control_type === "CONNECTION_DRAINING";
}

async function onlineWithId(
  creds = SENDER_A,
): Promise<{ c: RawXmppClient; id: ConnectionId; resource: string }> {
  const resource = uniqueName("dr");
  const c = await t.clients.online(creds, resource);
  const conn = await waitUntil(
    () => t.admin.connectionByResource(resource),
    (x) => x.state === "online",
    "the connection online in /stats",
  );
  return { c, id: conn.id, resource };
}

describe("CONNECTION_DRAINING", () => {
  it("sends the control message in the <data:gcm> form, byte for byte, and marks the connection draining", async () => {
    const { c, id, resource } = await onlineWithId();
    const answer = await t.admin.drain({ connectionId: id });
    expect(answer.drained).toEqual([id]);
    const control = await c.next(isControl, 3_000, "the CONNECTION_DRAINING control message");
    expect(control.kind === "stanza" ? control.raw : "").toBe(CONTROL);
    const conn = await t.admin.connectionByResource(resource);
    expect(conn.state).toBe("draining");
    expect((await t.admin.stats()).counters.drainsSent).toBe(1);
  });

  it("NACKs new downstream messages on a draining connection with CONNECTION_DRAINING", async () => {
    const { c, id } = await onlineWithId();
    await t.admin.drain({ connectionId: id });
    await c.next(isControl);
    const to = token();
    const mid = await c.sendDownstream({ to });
    expectNack(await c.answer(mid), to, mid, "CONNECTION_DRAINING");
  });

  it("still answers the messages pending when draining started", async () => {
    const local = await startTestEmulator({ drainGraceMs: 4_000, ackLatency: { kind: "fixed", ms: 1_200 } });
    try {
      const resource = uniqueName("pend");
      const c = await local.clients.online(SENDER_A, resource);
      const to = token();
      const pending = await c.sendDownstream({ to });
      const { id } = await waitUntil(
        () => local.admin.connectionByResource(resource),
        (x) => x.pending === 1,
        "the message pending on the server",
      );
      await local.admin.drain({ connectionId: id });
      await c.next(isControl);
      expectAck(await c.answer(pending, 3_000), to, pending);
      const kinds = c.history.map((i) => asGcm(i)?.json.message_type).filter((k) => k !== undefined);
      expect(kinds).toEqual(["control", "ack"]);
    } finally {
      await local.stop();
    }
  });

  it("sends no upstream to a draining connection; another connection gets it", async () => {
    const drained = await onlineWithId();
    await t.admin.drain({ connectionId: drained.id });
    await drained.c.next(isControl);
    const device = token();
    const { messageId } = await t.admin.upstream({ from: device, category: "com.d", data: {} });
    const fresh = await t.clients.online();
    await fresh.gcm((j) => j.message_id === messageId, 3_000, "the upstream message on the new connection");
    await fresh.ackUpstream(device, messageId);
    expect(drained.c.history.some((i) => asGcm(i)?.json.message_id === messageId)).toBe(false);
  });

  it("lets the draining connection ACK upstream it received before the drain", async () => {
    const { c, id } = await onlineWithId();
    const device = token();
    const { messageId } = await t.admin.upstream({ from: device, category: "com.d", data: {} });
    await c.gcm((j) => j.message_id === messageId);
    await t.admin.drain({ connectionId: id });
    await c.next(isControl);
    await c.ackUpstream(device, messageId);
    const s = await waitUntil(
      () => t.admin.stats(),
      (x) => x.counters.upstreamAcked === 1,
      "the ACK on the draining connection to count",
    );
    expect(s.counters.upstreamMisroutedAcks).toBe(0);
  });

  it("closes the stream after drainGraceMs", async () => {
    const { c, id } = await onlineWithId();
    await t.admin.drain({ connectionId: id });
    await c.next(isControl);
    const started = Date.now();
    await c.next((i) => i.kind === "stream-close", GRACE_MS + 3_000, "</stream:stream> from the server");
    await c.waitClosed(2_000);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(GRACE_MS - 150);
    expect(waited).toBeLessThan(GRACE_MS + 2_500);
  });
});

describe("drain targets", () => {
  it("drains every connection of one sender with { senderId }", async () => {
    const a1 = await onlineWithId(SENDER_A);
    const a2 = await onlineWithId(SENDER_A);
    const b = await onlineWithId(SENDER_B);
    const answer = await t.admin.drain({ senderId: SENDER_A.senderId });
    expect([...answer.drained].map(String).sort()).toEqual([String(a1.id), String(a2.id)].sort());
    await a1.c.next(isControl);
    await a2.c.next(isControl);
    await b.c.ping();
    expect(b.c.history.some(isControl)).toBe(false);
    const to = token();
    const mid = await b.c.sendDownstream({ to });
    expectAck(await b.c.answer(mid), to, mid);
  });

  it("drains every connection with { all: true }", async () => {
    const a = await onlineWithId(SENDER_A);
    const b = await onlineWithId(SENDER_B);
    const answer = await t.admin.drain({ all: true });
    expect([...answer.drained].map(String).sort()).toEqual([String(a.id), String(b.id)].sort());
    await a.c.next(isControl);
    await b.c.next(isControl);
    expect((await t.admin.stats()).counters.drainsSent).toBe(2);
  });
});
