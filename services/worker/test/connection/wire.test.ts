import type { XmlElement } from "@xmpp/client";
import { Parser } from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import { classifyMessage, downstreamXml, upstreamAckXml } from "../../src/connection/wire.ts";

/** Parses stanzas as they arrive inside a CCS stream (namespaces from the stream header). */
function parse(stanza: string): XmlElement {
  const parser = new Parser();
  let out: XmlElement | undefined;
  parser.on("element", (el: XmlElement) => {
    out = el;
  });
  parser.write(
    `<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">${stanza}`,
  );
  if (out === undefined) throw new Error("no element");
  return out;
}

const gcm = (json: object | string, attrs = ""): string =>
  `<message${attrs}><gcm xmlns="google:mobile:data">${typeof json === "string" ? json : JSON.stringify(json).replace(/&/g, "&amp;").replace(/</g, "&lt;")}</gcm></message>`;

describe("classifyMessage", () => {
  it("ACK, with and without canonical registration_id", () => {
    expect(classifyMessage(parse(gcm({ from: "tok", message_id: "m1", message_type: "ack" })))).toEqual({
      kind: "answer",
      messageId: "m1",
      result: { kind: "ack" },
      draining: false,
    });
    const c = classifyMessage(
      parse(gcm({ from: "tok", message_id: "m1", message_type: "ack", registration_id: "new" })),
    );
    expect(c).toMatchObject({ result: { kind: "ack", canonicalRegistrationId: "new" } });
  });

  it("NACK keeps the code; CONNECTION_DRAINING NACK marks draining", () => {
    const n = classifyMessage(
      parse(
        gcm({
          message_type: "nack",
          message_id: "m2",
          from: "tok",
          error: "BAD_REGISTRATION",
          error_description: "Invalid token on 'to' field: x",
        }),
      ),
    );
    expect(n).toEqual({
      kind: "answer",
      messageId: "m2",
      result: { kind: "nack", code: "BAD_REGISTRATION", description: "Invalid token on 'to' field: x" },
      draining: false,
    });
    const d = classifyMessage(
      parse(gcm({ message_type: "nack", message_id: "m3", error: "CONNECTION_DRAINING" })),
    );
    expect(d).toMatchObject({ kind: "answer", messageId: "m3", draining: true });
  });

  it("stanza error: matched by the echoed message_id, else the stanza id", () => {
    const xml = `<message id="3" type="error" to="1@gcm.googleapis.com/ABC"><gcm xmlns="google:mobile:data">{"random": "text"}</gcm><error code="400" type="modify"><bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas">InvalidJson: JSON_PARSING_ERROR : Missing Required Field: message_id\n</text></error></message>`;
    const c = classifyMessage(parse(xml));
    expect(c).toMatchObject({
      kind: "answer",
      messageId: "3",
      result: { kind: "stanza-error", error: { code: "400", type: "modify", condition: "bad-request" } },
    });
  });

  it("control in the prefixed form", () => {
    const xml = `<message><data:gcm xmlns:data="google:mobile:data">{"message_type":"control","control_type":"CONNECTION_DRAINING"}</data:gcm></message>`;
    expect(classifyMessage(parse(xml))).toEqual({ kind: "control", controlType: "CONNECTION_DRAINING" });
  });

  it("upstream and receipt carry from, id, category and the payload text as received", () => {
    const up = { category: "com.example", data: { a: "b" }, message_id: "1", from: "devtok" };
    const c = classifyMessage(parse(gcm(up, ' from="devices@gcm.googleapis.com" type="normal"')));
    expect(c).toEqual({
      kind: "upstream",
      from: "devtok",
      messageId: "1",
      category: "com.example",
      payloadJson: JSON.stringify(up),
    });
    const receipt = {
      category: "c",
      data: {
        message_status: "MESSAGE_SENT_TO_DEVICE",
        original_message_id: "m1",
        device_registration_id: "t",
      },
      message_id: "dr2:m1",
      message_type: "receipt",
      from: "gcm.googleapis.com",
    };
    expect(classifyMessage(parse(gcm(receipt)))).toMatchObject({
      kind: "receipt",
      messageId: "dr2:m1",
      from: "gcm.googleapis.com",
    });
  });

  it("unknown message types and bad payloads are ignored, not thrown", () => {
    expect(classifyMessage(parse(gcm({ message_type: "whatever" })))).toMatchObject({ kind: "ignored" });
    expect(classifyMessage(parse(gcm("not json")))).toMatchObject({ kind: "ignored" });
    expect(classifyMessage(parse("<message/>"))).toMatchObject({ kind: "ignored" });
  });
});

describe("writers", () => {
  it("downstream stanza carries message_id as stanza id and escapes the JSON", () => {
    const s = downstreamXml({ to: "t", message_id: 'a<&"b', data: { x: "</gcm>" } });
    const el = parse(s);
    expect(el.attrs.id).toBe('a<&"b');
    expect(JSON.parse(el.getChild("gcm")?.getText() ?? "")).toEqual({
      to: "t",
      message_id: 'a<&"b',
      data: { x: "</gcm>" },
    });
  });

  it("upstream ACK has exactly to, message_id and message_type ack", () => {
    const el = parse(upstreamAckXml("devtok", "dr2:1"));
    expect(JSON.parse(el.getChild("gcm")?.getText() ?? "")).toEqual({
      to: "devtok",
      message_id: "dr2:1",
      message_type: "ack",
    });
  });
});
