/**
 * Downstream messages: ACK/NACK shapes and texts, stanza errors, validation limits, flow control.
 * Sources: reference 000/001 "Request format", "Response format", "Flow Control"; 004 NACK texts;
 * ccs-facts.md "Messages" and "ACK, NACK, stanza errors"; CONTRACT.md "XMPP behaviour".
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { expectAck, expectNack, expectStanzaError } from "../support/expectations.ts";
import {
  SENDER_A,
  startTestEmulator,
  type TestEmulator,
  token,
  uniqueName,
  waitUntil,
} from "../support/fixtures.ts";

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

describe("ACK", () => {
  it("ACKs a well-formed message with exactly from/message_id/message_type and counts it", async () => {
    const before = (await t.admin.stats()).counters;
    const c = await t.clients.online();
    const to = token();
    const id = await c.sendDownstream({ to, message_id: "m-1366082849205", data: { hello: "world" } });
    expectAck(await c.answer(id), to, "m-1366082849205");
    const after = await waitUntil(
      () => t.admin.stats(),
      (s) => s.counters.acked === before.acked + 1,
      "counters.acked to increase",
    );
    expect(after.counters.downstreamReceived).toBe(before.downstreamReceived + 1);
  });

  it("accepts every documented optional field", async () => {
    const c = await t.clients.online();
    const to = token();
    const msg = await c.request({
      to,
      data: { hello: "world" },
      collapse_key: "sample",
      time_to_live: 600,
      delay_while_idle: false,
      delivery_receipt_requested: false,
      priority: "high",
      content_available: true,
      notification: { title: "t", body: "b" },
    });
    expectAck(msg, to, String(msg.json.message_id));
  });

  it("accepts JSON whose quotes are entity-escaped (&quot;), as Smack writes it", async () => {
    const c = await t.clients.online();
    const to = token();
    await c.sendGcmText(JSON.stringify({ to, message_id: "q-1", data: { a: 'x<y & "z"' } }), {
      stanzaId: "q-1",
      quoteEntities: true,
    });
    expectAck(await c.answer("q-1"), to, "q-1");
  });

  it("accepts a single-quoted namespace and pretty-printed JSON (Python sample)", async () => {
    const c = await t.clients.online();
    const to = token();
    const json = JSON.stringify({ to, message_id: "py-1", data: { pong: 1 } }, null, 2);
    await c.send(`<message><gcm xmlns='google:mobile:data'>\n  ${json}\n</gcm></message>`);
    expectAck(await c.answer("py-1"), to, "py-1");
  });

  it("accepts to/type/id attributes on the message stanza (as XMPP libraries write them)", async () => {
    const c = await t.clients.online();
    const to = token();
    await c.send(
      `<message to="gcm.googleapis.com" type="normal" id="attr-1"><gcm xmlns="google:mobile:data">${JSON.stringify({ to, message_id: "attr-1" })}</gcm></message>`,
    );
    expectAck(await c.answer("attr-1"), to, "attr-1");
  });

  it("accepts the prefixed form <data:gcm xmlns:data=...>", async () => {
    const c = await t.clients.online();
    const to = token();
    await c.send(
      `<message id="pf-1"><d:gcm xmlns:d="google:mobile:data">${JSON.stringify({ to, message_id: "pf-1" })}</d:gcm></message>`,
    );
    expectAck(await c.answer("pf-1"), to, "pf-1");
  });

  it("ACKs a rotated token with the canonical registration_id and delivers to the canonical token", async () => {
    const c = await t.clients.online();
    const oldToken = token();
    const newToken = token();
    await t.admin.addDevice({ token: oldToken });
    await t.admin.addDevice({ token: newToken });
    const rotated = await t.admin.deviceAction(oldToken, "rotate", { canonicalToken: newToken });
    expect(rotated.canonicalToken).toBe(newToken);
    const id = await c.sendDownstream({ to: oldToken, data: { k: "v" } });
    expectAck(await c.answer(id), oldToken, id, newToken);
    const device = await waitUntil(
      () => t.admin.device(newToken),
      (d) => d.ledger.some((e) => e.messageId === id),
      "delivery to the canonical token",
    );
    expect(device.ledger.find((e) => e.messageId === id)?.count).toBe(1);
  });

  it("rotation without a canonical token chooses one and reports it in the ACK", async () => {
    const c = await t.clients.online();
    const oldToken = token();
    await t.admin.addDevice({ token: oldToken });
    const rotated = await t.admin.deviceAction(oldToken, "rotate", {});
    expect(typeof rotated.canonicalToken).toBe("string");
    expect(rotated.canonicalToken).not.toBe(oldToken);
    const id = await c.sendDownstream({ to: oldToken });
    expectAck(await c.answer(id), oldToken, id, rotated.canonicalToken);
  });
});

describe("NACK", () => {
  it("NACKs an unregistered device with DEVICE_UNREGISTERED", async () => {
    const c = await t.clients.online();
    const to = token();
    await t.admin.addDevice({ token: to, registered: false });
    const id = await c.sendDownstream({ to, data: { a: "b" } });
    expectNack(await c.answer(id), to, id, "DEVICE_UNREGISTERED");
    const other = token();
    await t.admin.addDevice({ token: other });
    await t.admin.deviceAction(other, "unregister");
    const id2 = await c.sendDownstream({ to: other });
    expectNack(await c.answer(id2), other, id2, "DEVICE_UNREGISTERED");
    const s = await t.admin.stats();
    expect(s.counters.nacked.DEVICE_UNREGISTERED).toBeGreaterThanOrEqual(2);
  });

  it("a re-registered device is ACKed again", async () => {
    const c = await t.clients.online();
    const to = token();
    await t.admin.addDevice({ token: to, registered: false });
    await t.admin.deviceAction(to, "register");
    const id = await c.sendDownstream({ to });
    expectAck(await c.answer(id), to, id);
  });

  it("NACKs INVALID_JSON: JSON_TYPE_ERROR for a non-number time_to_live (000 text)", async () => {
    const c = await t.clients.online();
    const to = token();
    const id = await c.sendDownstream({ to, time_to_live: "abc", data: { a: "b" } });
    expectNack(
      await c.answer(id),
      to,
      id,
      "INVALID_JSON",
      'InvalidJson: JSON_TYPE_ERROR : Field "time_to_live" must be a JSON java.lang.Number: abc',
    );
  });

  it("NACKs INVALID_JSON: JSON_TYPE_ERROR for a non-boolean delay_while_idle (004 text)", async () => {
    const c = await t.clients.online();
    const to = token();
    const id = await c.sendDownstream({ to, delay_while_idle: "not-boolean-user-supplied-value" });
    expectNack(
      await c.answer(id),
      to,
      id,
      "INVALID_JSON",
      /JSON_TYPE_ERROR : Field "delay_while_idle" must be a JSON java.lang.Boolean: not-boolean-user-supplied-value/,
    );
  });

  it("NACKs time_to_live outside 0..2419200 (INVALID_TTL, 004) and ACKs both bounds", async () => {
    const c = await t.clients.online();
    const to = token();
    const low = await c.sendDownstream({ to, time_to_live: -1 });
    expectNack(await c.answer(low), to, low, "INVALID_JSON", /time_to_live/);
    const high = await c.sendDownstream({ to, time_to_live: 2419201 });
    expectNack(await c.answer(high), to, high, "INVALID_JSON", /time_to_live/);
    for (const ttl of [0, 2419200]) {
      const ok = await c.sendDownstream({ to, time_to_live: ttl });
      expectAck(await c.answer(ok), to, ok);
    }
  });

  it('the INVALID_TTL text follows 004: Invalid value (-1) for "time_to_live": must be between 0 and 2419200', async () => {
    const c = await t.clients.online();
    const to = token();
    const id = await c.sendDownstream({ to, time_to_live: -1 });
    expectNack(
      await c.answer(id),
      to,
      id,
      "INVALID_JSON",
      /INVALID_TTL : Invalid value \(-1\) for "time_to_live": must be between 0 and "?2419200"?/,
    );
  });

  it("limits data to 4096 bytes of keys plus values (UTF-8 bytes, not characters)", async () => {
    const c = await t.clients.online();
    const to = token();
    const atLimit = await c.sendDownstream({ to, data: { k: "x".repeat(4095) } });
    expectAck(await c.answer(atLimit), to, atLimit);
    const over = await c.sendDownstream({ to, data: { k: "x".repeat(4096) } });
    expectNack(await c.answer(over), to, over, "INVALID_JSON");
    // 1 + 2 * 2048 = 4097 bytes in 2049 characters.
    const multiByte = await c.sendDownstream({ to, data: { k: "é".repeat(2048) } });
    expectNack(await c.answer(multiByte), to, multiByte, "INVALID_JSON");
  });

  it("rejects the reserved data keys 'from' and 'google*', accepts look-alikes", async () => {
    const c = await t.clients.online();
    const to = token();
    for (const key of ["from", "google.c.a.e", "googleAnalytics"]) {
      const id = await c.sendDownstream({ to, data: { [key]: "v" } });
      expectNack(await c.answer(id), to, id, "INVALID_JSON");
    }
    for (const key of ["fromage", "my.google"]) {
      const id = await c.sendDownstream({ to, data: { [key]: "v" } });
      expectAck(await c.answer(id), to, id);
    }
  });
});

describe("stanza errors", () => {
  it("answers a message without message_id with the exact stanza error of 000", async () => {
    const before = (await t.admin.stats()).counters.stanzaErrors;
    const c = await t.clients.online(SENDER_A, "ABC");
    await c.sendGcmText('{"random": "text"}', { stanzaId: "3" });
    const err = await c.stanzaError("3");
    expectStanzaError(err, {
      stanzaId: "3",
      jid: "123456789@gcm.googleapis.com/ABC",
      payload: { random: "text" },
      text: "InvalidJson: JSON_PARSING_ERROR : Missing Required Field: message_id",
    });
    // The session goes on.
    expect((await c.ping()).el.attrs.type).toBe("result");
    const after = await waitUntil(
      () => t.admin.stats(),
      (s) => s.counters.stanzaErrors === before + 1,
      "counters.stanzaErrors to increase",
    );
    expect(after.counters.stanzaErrors).toBe(before + 1);
  });

  it("echoes a payload with XML special characters intact in the stanza error", async () => {
    const c = await t.clients.online(SENDER_A, "ESC");
    const payload = { random: `<tag attr="v"> & 'x' é😀` };
    await c.sendGcmText(JSON.stringify(payload), { stanzaId: "esc-1" });
    expectStanzaError(await c.stanzaError("esc-1"), {
      stanzaId: "esc-1",
      jid: "123456789@gcm.googleapis.com/ESC",
      payload,
      text: "InvalidJson: JSON_PARSING_ERROR : Missing Required Field: message_id",
    });
  });

  it("never ACKs a message without a usable 'to' (no multiple recipients, 000)", async () => {
    const c = await t.clients.online();
    const cases: Array<Record<string, unknown>> = [
      { registration_ids: [token(), token()], message_id: "nr-1" },
      { to: [token(), token()], message_id: "nr-2" },
      { to: 12345, message_id: "nr-3" },
      { message_id: "nr-4", data: { a: "b" } },
    ];
    for (const payload of cases) {
      const id = String(payload.message_id);
      await c.sendGcmText(JSON.stringify(payload), { stanzaId: id });
      const answer = await c.answerOrError(id, id);
      expect(answer.raw, JSON.stringify(payload)).not.toContain('"message_type":"ack"');
    }
    expect((await c.ping()).el.attrs.type).toBe("result");
  });

  it("answers a payload that is not JSON with a bad-request stanza error", async () => {
    const c = await t.clients.online();
    await c.sendGcmText("{not json", { stanzaId: "nj-1" });
    const err = await c.stanzaError("nj-1");
    const error = err.el.children.find((x) => x.local === "error");
    expect(error?.attrs.code).toBe("400");
    expect(error?.attrs.type).toBe("modify");
    expect(error?.children[0]?.local).toBe("bad-request");
    expect((await c.ping()).el.attrs.type).toBe("result");
  });
});

describe("flow control (pending window)", () => {
  it("reports pending messages per connection while answers are delayed", async () => {
    const local = await startTestEmulator({ ackLatency: { kind: "fixed", ms: 2_000 } });
    try {
      const resource = uniqueName("pend");
      const c = await local.clients.online(SENDER_A, resource);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await c.sendDownstream({ to: token() }));
      const conn = await waitUntil(
        () => local.admin.connectionByResource(resource),
        (x) => x.pending === 5,
        "pending to reach 5",
      );
      expect(conn.pending).toBe(5);
      for (const id of ids) expect((await c.answer(id, 5_000)).json.message_type).toBe("ack");
      await waitUntil(
        () => local.admin.connectionByResource(resource),
        (x) => x.pending === 0,
        "pending to drop to 0",
      );
    } finally {
      await local.stop();
    }
  });

  it("counts the (limit+1)-th concurrent message as a violation and still answers it", async () => {
    const local = await startTestEmulator({ pendingLimit: 5, ackLatency: { kind: "fixed", ms: 800 } });
    try {
      const resource = uniqueName("viol");
      const c = await local.clients.online(SENDER_A, resource);
      const batch = Array.from({ length: 6 }, (_, i) => ({ to: token(), message_id: `v-${i}` }));
      await c.send(
        batch
          .map(
            (m) =>
              `<message id="${m.message_id}"><gcm xmlns="google:mobile:data">${JSON.stringify(m)}</gcm></message>`,
          )
          .join(""),
      );
      for (const m of batch) expect((await c.answer(m.message_id, 5_000)).json.message_type).toBe("ack");
      const stats = await local.admin.stats();
      expect(stats.counters.pendingViolations).toBe(1);
      expect(stats.bySender[SENDER_A.senderId]?.pendingViolations).toBe(1);
      const conn = stats.connections.find((x) => x.resource === resource);
      expect(
        conn?.pendingViolations,
        "per-connection pendingViolations (CONTRACT 'per connection and total')",
      ).toBe(1);
    } finally {
      await local.stop();
    }
  });

  it("default window is 100 (000/001): 100 concurrent are fine, the 101st is a violation", async () => {
    const local = await startTestEmulator({ ackLatency: { kind: "fixed", ms: 5_000 } });
    try {
      const c = await local.clients.online();
      const to = token();
      const stanza = (i: number): string =>
        `<message id="w${i}"><gcm xmlns="google:mobile:data">${JSON.stringify({ to, message_id: `w${i}` })}</gcm></message>`;
      await c.send(Array.from({ length: 100 }, (_, i) => stanza(i)).join(""));
      await waitUntil(
        () => local.admin.stats(),
        (s) => s.counters.downstreamReceived === 100,
        "100 messages received",
      );
      expect((await local.admin.stats()).counters.pendingViolations).toBe(0);
      await c.send(stanza(100));
      expect(c.history.some((i) => i.kind === "stanza" && i.raw.includes('"message_type":"ack"'))).toBe(
        false,
      );
      await c.answer("w100", 8_000);
      expect((await local.admin.stats()).counters.pendingViolations).toBe(1);
    } finally {
      await local.stop();
    }
  });

  it("counts the window per connection, not per sender", async () => {
    const local = await startTestEmulator({ pendingLimit: 3, ackLatency: { kind: "fixed", ms: 800 } });
    try {
      const c1 = await local.clients.online();
      const c2 = await local.clients.online();
      const ids = await Promise.all(
        [c1, c1, c1, c2, c2, c2].map(async (c) => ({ c, id: await c.sendDownstream({ to: token() }) })),
      );
      for (const { c, id } of ids) expect((await c.answer(id, 5_000)).json.message_type).toBe("ack");
      expect((await local.admin.stats()).counters.pendingViolations).toBe(0);
    } finally {
      await local.stop();
    }
  });

  it("strict mode closes the stream with <policy-violation/> on the (limit+1)-th message", async () => {
    const local = await startTestEmulator({
      pendingLimit: 3,
      strictPendingLimit: true,
      ackLatency: { kind: "fixed", ms: 2_000 },
    });
    try {
      const c = await local.clients.online();
      const to = token();
      await c.send(
        Array.from(
          { length: 4 },
          (_, i) =>
            `<message><gcm xmlns="google:mobile:data">${JSON.stringify({ to, message_id: `s${i}` })}</gcm></message>`,
        ).join(""),
      );
      const err = await c.streamError(3_000);
      expect(err.raw).toBe(
        '<stream:error><policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error>',
      );
      await c.waitClosed(3_000);
      expect(c.receivedText()).toContain(
        '<stream:error><policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error></stream:stream>',
      );
      expect((await local.admin.stats()).counters.pendingViolations).toBeGreaterThanOrEqual(1);
    } finally {
      await local.stop();
    }
  });

  it("upstream ACKs sent by the app server do not count against the window", async () => {
    const local = await startTestEmulator({ pendingLimit: 2, ackLatency: { kind: "fixed", ms: 2_000 } });
    try {
      const c = await local.clients.online();
      const device = token();
      const { messageId } = await local.admin.upstream({
        from: device,
        category: "com.example",
        data: { a: "1" },
      });
      const up = await c.gcm((j) => j.message_id === messageId);
      const a = await c.sendDownstream({ to: token() });
      const b = await c.sendDownstream({ to: token() });
      await c.ackUpstream(String(up.json.from), messageId);
      await c.answer(a, 5_000);
      await c.answer(b, 5_000);
      expect((await local.admin.stats()).counters.pendingViolations).toBe(0);
    } finally {
      await local.stop();
    }
  });
});

describe("device-side rate and registration", () => {
  it("NACKs DEVICE_MESSAGE_RATE_EXCEEDED over the configured per-device rate (001 text)", async () => {
    const local = await startTestEmulator({ deviceRateLimit: { messages: 3, perMs: 60_000 } });
    try {
      const c = await local.clients.online();
      const to = token();
      for (let i = 0; i < 3; i++) {
        const id = await c.sendDownstream({ to });
        expectAck(await c.answer(id), to, id);
      }
      const id = await c.sendDownstream({ to });
      expectNack(
        await c.answer(id),
        to,
        id,
        "DEVICE_MESSAGE_RATE_EXCEEDED",
        "Downstream message rate exceeded for this registration id",
      );
      const other = token();
      const id2 = await c.sendDownstream({ to: other });
      expectAck(await c.answer(id2), other, id2);
      expect((await local.admin.stats()).counters.nacked.DEVICE_MESSAGE_RATE_EXCEEDED).toBe(1);
    } finally {
      await local.stop();
    }
  });

  it("NACKs BAD_REGISTRATION with \"Invalid token on 'to' field: ...\" when tokens are not auto-registered", async () => {
    const local = await startTestEmulator({ autoRegisterDevices: false });
    try {
      const c = await local.clients.online();
      const id = await c.sendDownstream({ to: "SomeInvalidRegistrationId", message_id: "msgId1" });
      expectNack(
        await c.answer(id),
        "SomeInvalidRegistrationId",
        "msgId1",
        "BAD_REGISTRATION",
        "Invalid token on 'to' field: SomeInvalidRegistrationId",
      );
      const known = token();
      await local.admin.addDevice({ token: known });
      const id2 = await c.sendDownstream({ to: known });
      expectAck(await c.answer(id2), known, id2);
    } finally {
      await local.stop();
    }
  });
});
