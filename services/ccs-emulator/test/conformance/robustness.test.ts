/**
 * Robustness: malformed or hostile input gets a stream error (RFC 6120 4.9) or a stanza error, the
 * offending connection is closed, and the emulator keeps serving every OTHER connection.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { expectAck } from "../support/expectations.ts";
import {
  elapse,
  SENDER_A,
  startTestEmulator,
  type TestEmulator,
  token,
  uniqueName,
} from "../support/fixtures.ts";
import { type RawXmppClient, STREAM_HEADER } from "../support/raw-xmpp-client.ts";
import { NS, type XmlElement } from "../support/xml.ts";

let t: TestEmulator;
let bystander: RawXmppClient;

beforeAll(async () => {
  t = await startTestEmulator();
});
beforeEach(async () => {
  bystander = await t.clients.online(SENDER_A, uniqueName("bystander"));
});
afterEach(async () => {
  // The emulator still serves the other connection, its admin API, and new logins.
  expect((await bystander.ping()).el.attrs.type).toBe("result");
  const to = token();
  const id = await bystander.sendDownstream({ to });
  expectAck(await bystander.answer(id), to, id);
  expect((await t.admin.request("GET", "/health")).status).toBe(200);
  const fresh = await t.clients.online();
  expect((await fresh.ping()).el.attrs.type).toBe("result");
  await t.clients.closeAll();
});
afterAll(async () => {
  await t.stop();
});

function conditions(error: XmlElement): string[] {
  return error.children.filter((c) => c.ns === NS.streams && c.local !== "text").map((c) => c.local);
}

/** Waits for `<stream:error>` with one defined condition, then `</stream:stream>` and the socket close. */
async function expectStreamError(c: RawXmppClient, timeoutMs = 5_000): Promise<string> {
  const err = await c.streamError(timeoutMs);
  const conds = conditions(err.el);
  expect(conds, `defined condition in ${err.raw}`).toHaveLength(1);
  await c.waitClosed(timeoutMs);
  expect(c.history.some((i) => i.kind === "stream-close")).toBe(true);
  return conds[0] ?? "";
}

/**
 * Waits for a stream error (then the close) or a stanza error echoing `stanzaId` (then the session must
 * go on); in both cases the message must not have been ACKed.
 */
async function streamOrStanzaError(c: RawXmppClient, stanzaId: string): Promise<void> {
  const item = await c.next(
    (i) =>
      i.kind === "stanza" &&
      ((i.el.local === "error" && i.el.ns === NS.stream) ||
        (i.el.local === "message" && i.el.attrs.type === "error" && i.el.attrs.id === stanzaId)),
    5_000,
    "a stream error or a stanza error",
  );
  if (item.kind === "stanza" && item.el.local === "message") {
    expect((await c.ping()).el.attrs.type).toBe("result");
  } else {
    await c.waitClosed();
  }
  expect(c.history.some((i) => i.kind === "stanza" && i.raw.includes('"message_type":"ack"'))).toBe(false);
}

async function loggedIn(): Promise<RawXmppClient> {
  return t.clients.online(SENDER_A, uniqueName("victim"));
}

describe("malformed XML", () => {
  it("garbage bytes inside the stream: stream error, connection closed", async () => {
    const c = await t.clients.connect();
    await c.openStream();
    await c.send(Buffer.from([0x00, 0x01, 0xff, 0xfe, 0x3c, 0x3c, 0x3c, 0x20, 0x26, 0x26, 0x3e]));
    await expectStreamError(c);
  });

  it("garbage instead of a stream header (an HTTP request over TLS): stream error", async () => {
    const c = await t.clients.connect();
    await c.send("GET / HTTP/1.1\r\nHost: gcm.googleapis.com\r\n\r\n");
    await expectStreamError(c);
  });

  it("a mismatched end tag after login: not-well-formed stream error", async () => {
    const c = await loggedIn();
    await c.send('<message id="x1"><gcm xmlns="google:mobile:data">{}</message>');
    expect(await expectStreamError(c)).toBe("not-well-formed");
  });

  it("an unclosed stanza ended by </stream:stream>: stream error", async () => {
    const c = await loggedIn();
    await c.send(`<message id="x2"><gcm xmlns="google:mobile:data">{"to":"${token()}"`);
    await c.send("</stream:stream>");
    await expectStreamError(c);
  });

  it("an undeclared namespace prefix: stream error or stanza error, never an ACK", async () => {
    const c = await loggedIn();
    await c.send(
      `<message id="x3"><nope:gcm>${JSON.stringify({ to: token(), message_id: "x3" })}</nope:gcm></message>`,
    );
    await streamOrStanzaError(c, "x3");
  });

  it("invalid UTF-8 inside an otherwise valid stanza: stream error, never an ACK", async () => {
    const c = await loggedIn();
    await c.send(
      Buffer.concat([
        Buffer.from(
          `<message id="bad8"><gcm xmlns="google:mobile:data">{"to":"${token()}","message_id":"bad8","data":{"k":"`,
        ),
        Buffer.from([0xc3, 0x28, 0xff, 0xfe]),
        Buffer.from(`"}}</gcm></message>`),
      ]),
    );
    await expectStreamError(c);
    expect(c.history.some((i) => i.kind === "stanza" && i.raw.includes('"message_type":"ack"'))).toBe(false);
  });

  it("deeply nested elements (10,000 levels) get a stream error, not a crash", async () => {
    const c = await loggedIn();
    await c.send(`<message id="deep"><gcm xmlns="google:mobile:data">${"<x>".repeat(10_000)}`);
    await c.send(`${"</x>".repeat(10_000)}</gcm></message>`).catch(() => undefined);
    await expectStreamError(c);
  });

  it("a huge stanza over the size limit: stream error before the client is done sending 32 MB", async () => {
    const c = await loggedIn();
    const chunk = "a".repeat(64 * 1024);
    await c.send(`<message id="big"><gcm xmlns="google:mobile:data">{"to":"${token()}","data":{"k":"`);
    let sent = 0;
    const limit = 32 * 1024 * 1024;
    while (sent < limit && !c.closed && !c.has((i) => i.kind === "stanza" && i.el.local === "error")) {
      try {
        await c.send(chunk);
      } catch {
        break; // the server closed the connection: what is checked below
      }
      sent += chunk.length;
    }
    expect(sent, "bytes sent before the server reacted").toBeLessThan(limit);
    await expectStreamError(c, 10_000);
  });
});

describe("DOCTYPE and entities", () => {
  it("a DOCTYPE with entity declarations after login: stream error (restricted XML)", async () => {
    const c = await loggedIn();
    await c.send(
      '<!DOCTYPE message [<!ENTITY xxe "boom">]><message id="e1"><gcm xmlns="google:mobile:data">&xxe;</gcm></message>',
    );
    await expectStreamError(c);
  });

  it("a DOCTYPE before the stream header (entity expansion bomb): stream error", async () => {
    const c = await t.clients.connect();
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE stream:stream [<!ENTITY a "aaaaaaaaaa">' +
      '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>';
    await c.send(`${bomb}${STREAM_HEADER}`);
    await expectStreamError(c);
  });

  it("a reference to an undefined entity: stream error or stanza error, never an ACK", async () => {
    const c = await loggedIn();
    await c.send(
      `<message id="e3"><gcm xmlns="google:mobile:data">{"to":"&undefined;","message_id":"e3"}</gcm></message>`,
    );
    await streamOrStanzaError(c, "e3");
  });
});

describe("wrong namespaces and elements", () => {
  it("a stream header in the wrong stream namespace: invalid-namespace stream error", async () => {
    const c = await t.clients.connect();
    await c.send(
      '<stream:stream to="gcm.googleapis.com" version="1.0" xmlns="jabber:client" xmlns:stream="http://wrong.example/streams">',
    );
    expect(await expectStreamError(c)).toBe("invalid-namespace");
  });

  it("a gcm element in the wrong namespace: stanza error (or stream error), never an ACK", async () => {
    const c = await loggedIn();
    const to = token();
    await c.send(
      `<message id="ns1"><gcm xmlns="google:mobile:wrong">${JSON.stringify({ to, message_id: "ns1" })}</gcm></message>`,
    );
    await streamOrStanzaError(c, "ns1");
  });

  it("an unknown top-level element after login: unsupported-stanza-type stream error", async () => {
    const c = await loggedIn();
    await c.send('<frobnicate xmlns="jabber:client"/>');
    expect(await expectStreamError(c)).toBe("unsupported-stanza-type");
  });

  it("an iq with an unknown payload: an iq error, the session goes on", async () => {
    const c = await loggedIn();
    await c.send('<iq type="get" id="roster-1"><query xmlns="jabber:iq:roster"/></iq>');
    const answer = await c.stanza((el) => el.local === "iq" && el.attrs.id === "roster-1");
    expect(answer.el.attrs.type).toBe("error");
    expect((await c.ping()).el.attrs.type).toBe("result");
  });
});

describe("encoding and connection churn", () => {
  it("reassembles multi-byte UTF-8 split across writes and ACKs the message", async () => {
    const c = await loggedIn();
    const to = token();
    const stanza = `<message id="u1"><gcm xmlns="google:mobile:data">${JSON.stringify({
      to,
      message_id: "u1",
      data: { text: "é€😀 snow☃" },
    })}</gcm></message>`;
    const bytes = Buffer.from(stanza, "utf8");
    const cuts = [
      bytes.indexOf(Buffer.from("€")) + 1,
      bytes.indexOf(Buffer.from("😀")) + 2,
      bytes.indexOf(Buffer.from("☃")) + 1,
    ];
    let from = 0;
    for (const cut of cuts) {
      await c.send(bytes.subarray(from, cut));
      await elapse(30); // let each piece arrive as its own read on the server
      from = cut;
    }
    await c.send(bytes.subarray(from));
    expectAck(await c.answer("u1"), to, "u1");
  });

  it("processes a stanza written in 7-byte pieces", async () => {
    const c = await loggedIn();
    const to = token();
    const stanza = `<message id="p7"><gcm xmlns="google:mobile:data">${JSON.stringify({ to, message_id: "p7" })}</gcm></message>`;
    const writes: Promise<void>[] = [];
    for (let i = 0; i < stanza.length; i += 7) writes.push(c.send(stanza.slice(i, i + 7)));
    await Promise.all(writes);
    expectAck(await c.answer("p7"), to, "p7");
  });

  it("answers a 10 kB stanza (RFC 6120 minimum stanza size) with a NACK, not a stream error", async () => {
    const c = await loggedIn();
    const to = token();
    const id = await c.sendDownstream({ to, data: { k: "x".repeat(10_000) } });
    expect((await c.answer(id)).json.error).toBe("INVALID_JSON");
    expect((await c.ping()).el.attrs.type).toBe("result");
  });

  it("a client that stops reading does not stall other connections", async () => {
    const c = await loggedIn();
    c.socket.pause();
    const to = token();
    const batch = Array.from(
      { length: 2_000 },
      (_, i) =>
        `<message id="sr${i}"><gcm xmlns="google:mobile:data">${JSON.stringify({ to, message_id: `sr${i}`, data: { pad: "p".repeat(200) } })}</gcm></message>`,
    ).join("");
    for (let i = 0; i < 5; i++) c.socket.write(batch);
    for (let i = 0; i < 5; i++) {
      const other = token();
      const id = await bystander.sendDownstream({ to: other });
      expectAck(await bystander.answer(id), other, id);
    }
    c.destroy();
  });

  it("survives connections dropped mid-TLS and mid-handshake", async () => {
    for (let i = 0; i < 10; i++) {
      const c = await t.clients.connect();
      if (i % 2 === 0) await c.send("<stream:stream to='gcm.goo");
      c.destroy();
    }
    const half = await t.clients.connect();
    await half.openStream();
    await half.send('<auth mechanism="PLAIN" xmlns="urn:ietf:params:xml:ns:xmpp-sasl">AAEC');
    half.destroy();
  });
});
