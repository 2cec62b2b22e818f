/**
 * Fault injection through PUT /faults and POST /connections/:id/reset (CONTRACT.md admin API). The
 * behaviours injected are the documented failure modes: NACK codes (000/001 table), unanswered messages
 * ("If you do not receive either ... resend", 000), connection loss, auth failures, slow answers.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { expectAck, expectNack } from "../support/expectations.ts";
import {
  SENDER_A,
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

const AUTH_FAILURE = '<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><not-authorized/></failure>';

describe("NACK injection", () => {
  it("NACKs every message with the configured code at probability 1; GET /faults shows it", async () => {
    const faults = { nack: { SERVICE_UNAVAILABLE: 1 } };
    await t.admin.setFaults(faults);
    expect(await t.admin.ok("GET", "/faults")).toMatchObject(faults);
    const c = await t.clients.online();
    const to = token();
    for (let i = 0; i < 5; i++) {
      const id = await c.sendDownstream({ to });
      expectNack(await c.answer(id), to, id, "SERVICE_UNAVAILABLE");
    }
    expect((await t.admin.stats()).counters.nacked.SERVICE_UNAVAILABLE).toBe(5);
    await t.admin.setFaults({});
    const id = await c.sendDownstream({ to });
    expectAck(await c.answer(id), to, id);
  });

  it("NACKs a burst of exactly `count` messages, then ACKs again", async () => {
    await t.admin.setFaults({ nackBurst: { code: "INTERNAL_SERVER_ERROR", count: 3 } });
    const c = await t.clients.online();
    const to = token();
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = await c.sendDownstream({ to });
      const answer = await c.answer(id);
      codes.push(answer.json.message_type === "ack" ? "ack" : String(answer.json.error));
    }
    expect(codes).toEqual([
      "INTERNAL_SERVER_ERROR",
      "INTERNAL_SERVER_ERROR",
      "INTERNAL_SERVER_ERROR",
      "ack",
      "ack",
    ]);
  });
});

describe("lost answers and connections", () => {
  it("drops answers: the messages stay pending, counted unanswered when the connection closes", async () => {
    const resource = uniqueName("drop");
    const c = await t.clients.online(SENDER_A, resource);
    await t.admin.setFaults({ dropAnswers: 1 });
    const to = token();
    const lost = [await c.sendDownstream({ to }), await c.sendDownstream({ to })];
    await waitUntil(
      () => t.admin.connectionByResource(resource),
      (x) => x.pending === 2,
      "two pending messages",
    );
    await t.admin.setFaults({});
    const ok = await c.sendDownstream({ to });
    expectAck(await c.answer(ok), to, ok);
    for (const id of lost) {
      expect(c.history.some((i) => asGcm(i)?.json.message_id === id)).toBe(false);
    }
    expect((await t.admin.connectionByResource(resource)).pending).toBe(2);
    await c.close();
    await waitUntil(
      () => t.admin.stats(),
      (s) => s.counters.unanswered === 2,
      "two unanswered messages counted",
    );
  });

  it("resets the TCP connection on POST /connections/:id/reset (no </stream:stream>)", async () => {
    const resource = uniqueName("rst");
    const c = await t.clients.online(SENDER_A, resource);
    const { id } = await t.admin.connectionByResource(resource);
    const answer = await t.admin.request("POST", `/connections/${encodeURIComponent(String(id))}/reset`, {
      body: {},
    });
    expect(answer.status).toBeLessThan(300);
    const closed = await c.waitClosed(3_000);
    expect(closed.hadError || closed.error !== undefined).toBe(true);
    expect(c.history.some((i) => i.kind === "stream-close")).toBe(false);
    await waitUntil(
      () => t.admin.stats(),
      (s) => s.counters.resets === 1,
      "the reset counted",
    );
    // The emulator keeps serving.
    const other = await t.clients.online();
    expect((await other.ping()).el.attrs.type).toBe("result");
  });

  it("stops reading one connection while others are served; reading resumes when the fault is cleared", async () => {
    const resource = uniqueName("stuck");
    const stuck = await t.clients.online(SENDER_A, resource);
    const other = await t.clients.online();
    const { id } = await t.admin.connectionByResource(resource);
    await t.admin.setFaults({ stopReading: { connectionId: id } });
    const to = token();
    const mid = await stuck.sendDownstream({ to });
    const mid2 = await other.sendDownstream({ to });
    expectAck(await other.answer(mid2), to, mid2);
    await other.ping();
    await stuck.send('<iq type="get" id="stuck-ping"><ping xmlns="urn:xmpp:ping"/></iq>');
    await other.ping();
    expect(stuck.history.some((i) => i.kind === "stanza" && i.el.attrs.id === "stuck-ping")).toBe(false);
    expect(stuck.history.some((i) => asGcm(i)?.json.message_id === mid)).toBe(false);
    await t.admin.setFaults({});
    expectAck(await stuck.answer(mid, 5_000), to, mid);
  });
});

describe("auth and latency faults", () => {
  it("refuses authentication while refuseAuth is true", async () => {
    await t.admin.setFaults({ refuseAuth: true });
    const c = await t.clients.connect();
    await c.openStream();
    expect((await c.auth(SENDER_A)).raw).toBe(AUTH_FAILURE);
    await c.waitClosed();
    await t.admin.setFaults({});
    const ok = await t.clients.connect();
    await ok.openStream();
    expect((await ok.auth(SENDER_A)).raw).toBe('<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>');
  });

  it("refuses authentication for a while with refuseAuth { untilMs }, then accepts", async () => {
    await t.admin.setFaults({ refuseAuth: { untilMs: Date.now() + 700 } });
    const c = await t.clients.connect();
    await c.openStream();
    expect((await c.auth(SENDER_A)).raw).toBe(AUTH_FAILURE);
    const accepted = await waitUntil(
      async () => {
        const probe = await t.clients.connect();
        await probe.openStream();
        return (await probe.auth(SENDER_A)).raw;
      },
      (raw) => raw.includes("<success"),
      "authentication to be accepted again",
      5_000,
      100,
    );
    expect(accepted).toBe('<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>');
  });

  it("delays ACKs with slowAcks", async () => {
    await t.admin.setFaults({ slowAcks: { kind: "fixed", ms: 400 } });
    const c = await t.clients.online();
    const to = token();
    const started = Date.now();
    const id = await c.sendDownstream({ to });
    expectAck(await c.answer(id, 3_000), to, id);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
  });

  it("drains connections at random with randomDrain", async () => {
    await t.admin.setFaults({ randomDrain: { perConnectionPerMinute: 600 } });
    const c = await t.clients.online();
    const control = await c.gcm((j) => j.message_type === "control", 5_000, "a random CONNECTION_DRAINING");
    expect(control.json.control_type).toBe("CONNECTION_DRAINING");
  });
});

describe("randomness and latency options", () => {
  async function nackPattern(seed: number): Promise<string> {
    const local = await startTestEmulator({ seed });
    try {
      await local.admin.setFaults({ nack: { SERVICE_UNAVAILABLE: 0.5 } });
      const c = await local.clients.online(SENDER_A, "seeded");
      let pattern = "";
      for (let i = 0; i < 24; i++) {
        const answer = await c.request({
          to: "APA91bSeededDevice0000000000000000000000000000",
          message_id: `s${i}`,
        });
        pattern += answer.json.message_type === "ack" ? "A" : "N";
      }
      return pattern;
    } finally {
      await local.stop();
    }
  }

  it("the same seed gives the same random behaviour", async () => {
    const first = await nackPattern(4242);
    const second = await nackPattern(4242);
    expect(first).toMatch(/A/);
    expect(first).toMatch(/N/);
    expect(second).toBe(first);
  });

  it("ackLatency uniform delays each answer within [minMs, maxMs]", async () => {
    const local = await startTestEmulator({ ackLatency: { kind: "uniform", minMs: 150, maxMs: 300 } });
    try {
      const c = await local.clients.online();
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        const to = token();
        const id = await c.sendDownstream({ to });
        expectAck(await c.answer(id, 3_000), to, id);
        const took = Date.now() - started;
        expect(took).toBeGreaterThanOrEqual(140);
        expect(took).toBeLessThan(1_500);
      }
    } finally {
      await local.stop();
    }
  });
});
