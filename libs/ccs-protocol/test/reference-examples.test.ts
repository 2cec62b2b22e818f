import { describe, expect, test } from "vitest";
import {
  ackStanza,
  type ClientMessage,
  controlStanza,
  downstreamStanza,
  type Element,
  escapeXmlText,
  gcmMessageStanza,
  gcmPayloadOf,
  NackCode,
  NS_SASL,
  NS_STANZAS,
  NS_STREAM,
  nackStanza,
  PayloadJsonError,
  RetryClass,
  readClientMessage,
  readServerMessage,
  receiptStanza,
  type ServerMessage,
  type StanzaAttrs,
  StanzaReader,
  stanzaErrorStanza,
  streamHeader,
  upstreamAckStanza,
  upstreamStanza,
  validateDownstream,
  XmlSyntaxError,
} from "../src/index.ts";
import { ARTICLE_FRAGMENTS, DOC_EXAMPLES, type DocExample } from "./fixtures/reference-examples.ts";
import { collectingReader, GCM_BODY_RE, readStream, STREAM_OPEN } from "./helpers.ts";

/** Read one example inside a stream, whole and byte by byte; both must give the same element. */
function readOne(xml: string): Element {
  const whole = readStream(xml);
  const bytewise = readStream(xml, undefined, 1);
  expect(whole.errors).toEqual([]);
  expect(bytewise.errors).toEqual([]);
  expect(whole.stanzas).toHaveLength(1);
  expect(bytewise.stanzas.map(String)).toEqual(whole.stanzas.map(String));
  return whole.stanzas[0] as Element;
}

function attrsOf(el: Element, xml: string): StanzaAttrs {
  const attrs: StanzaAttrs = {};
  if (el.attrs.id !== undefined) attrs.id = el.attrs.id;
  if (el.attrs.to !== undefined) attrs.to = el.attrs.to;
  if (el.attrs.type !== undefined) attrs.type = el.attrs.type;
  if (xml.includes("<data:gcm")) attrs.prefixed = true;
  return attrs;
}

/** Write a server message back with the builder of its kind. */
function rebuildServer(msg: ServerMessage, attrs: StanzaAttrs): string {
  switch (msg.kind) {
    case "ack":
      return ackStanza(msg.from, msg.messageId, msg.registrationId, attrs);
    case "nack":
      return nackStanza(msg.from, msg.messageId, msg.error, msg.description, attrs);
    case "control":
      return controlStanza(msg.controlType, attrs);
    case "receipt":
      return msg.deviceRegistrationId === undefined
        ? gcmMessageStanza(msg.payload, attrs)
        : receiptStanza(
            {
              from: msg.from,
              messageId: msg.messageId,
              category: msg.category,
              originalMessageId: msg.originalMessageId,
              deviceRegistrationId: msg.deviceRegistrationId,
              messageStatus: msg.messageStatus,
            },
            attrs,
          );
    case "upstream":
      return upstreamStanza(
        { from: msg.from, category: msg.category, messageId: msg.messageId, data: msg.data },
        attrs,
      );
    case "unknown":
      return gcmMessageStanza(msg.payload as object, attrs);
  }
}

function rebuildClient(msg: ClientMessage, id: string | undefined): string {
  switch (msg.kind) {
    case "downstream": {
      const v = validateDownstream(msg.payload);
      if (!v.ok) throw new Error(`fixed example must validate: ${JSON.stringify(v.rejection)}`);
      return downstreamStanza(v.request, id);
    }
    case "upstream-ack":
      return upstreamAckStanza(msg.to, msg.messageId, id);
    default:
      throw new Error(`unexpected client kind ${msg.kind}`);
  }
}

function roundTrip(ex: DocExample, xml: string): void {
  const el = readOne(xml);
  const json = gcmPayloadOf(el);
  expect(json).toBeDefined();
  if (ex.role === "server") {
    const msg = readServerMessage(el);
    expect(msg?.kind).toBe(ex.kind);
    if (msg === undefined || msg.kind === "stanza-error") throw new Error("unreachable");
    expect(msg.payload).toEqual(JSON.parse(json ?? ""));
    const again = readServerMessage(readOne(rebuildServer(msg, attrsOf(el, xml))));
    expect(again).toEqual(msg);
  } else {
    const msg = readClientMessage(el);
    expect(msg?.kind).toBe(ex.kind);
    if (msg === undefined) throw new Error("unreachable");
    const rebuilt = readOne(rebuildClient(msg, el.attrs.id));
    const again = readClientMessage(rebuilt);
    if (msg.kind === "downstream" && again?.kind === "downstream") {
      expect(validateDownstream(again.payload)).toEqual(validateDownstream(msg.payload));
    } else {
      expect(again).toEqual(msg);
    }
  }
}

describe("every example stanza of the reference documents", () => {
  const gcmExamples = DOC_EXAMPLES.filter((e) => e.role === "client" || e.role === "server");

  test("fixture covers the documents", () => {
    expect(DOC_EXAMPLES.length).toBeGreaterThanOrEqual(55);
    for (const doc of ["000", "001", "002", "004"]) {
      expect(DOC_EXAMPLES.some((e) => e.source.startsWith(doc))).toBe(true);
    }
  });

  test.each(gcmExamples.map((e) => [e.id, e] as const))("%s: the reader yields the payload", (_id, ex) => {
    const el = readOne(ex.xml);
    const printed = GCM_BODY_RE.exec(ex.xml)?.[2];
    expect(printed).toBeDefined();
    // Entities decoded: the printed body has none, so the payload is the printed text itself.
    expect(gcmPayloadOf(el)).toBe(printed);
  });

  test.each(gcmExamples.filter((e) => e.jsonValid === true).map((e) => [e.id, e] as const))(
    "%s: valid JSON round-trips through reader and writer",
    (_id, ex) => {
      roundTrip(ex, ex.xml);
    },
  );

  test.each(gcmExamples.filter((e) => e.jsonValid === false).map((e) => [e.id, e] as const))(
    "%s: invalid JSON is a typed error; its valid-JSON version round-trips",
    (_id, ex) => {
      const el = readOne(ex.xml);
      const read = ex.role === "server" ? () => readServerMessage(el) : () => readClientMessage(el);
      expect(read).toThrow(PayloadJsonError);
      if (ex.role === "client" && ex.kind === "downstream") {
        const v = validateDownstream(gcmPayloadOf(el));
        expect(v.ok).toBe(false);
        if (!v.ok) expect(v.rejection.kind).toBe("stanza-error");
      }
      expect(ex.fixed).toBeDefined();
      const fixedXml = ex.xml.replace(
        GCM_BODY_RE,
        (_m, open: string, _body: string, close: string) =>
          `${open}${escapeXmlText(JSON.stringify(ex.fixed, null, 2))}${close}`,
      );
      roundTrip(ex, fixedXml);
    },
  );

  test.each(DOC_EXAMPLES.filter((e) => e.role === "stanza-error").map((e) => [e.id, e] as const))(
    "%s: stanza error read and rewritten",
    (_id, ex) => {
      const el = readOne(ex.xml);
      const msg = readServerMessage(el);
      if (msg?.kind !== "stanza-error") throw new Error(`expected a stanza error, got ${msg?.kind}`);
      expect(msg.stanzaId).toBe("3");
      expect(msg.error.code).toBe("400");
      expect(msg.error.type).toBe("modify");
      expect(msg.error.condition).toBe("bad-request");
      // The documents print a trailing "\n" literally after the text.
      expect(msg.error.text).toBe("InvalidJson: JSON_PARSING_ERROR : Missing Required Field: message_id\\n");
      expect(JSON.parse(msg.payloadJson ?? "")).toEqual({ random: "text" });
      expect(msg.messageId).toBeUndefined();

      // Our validator gives the same answer for the echoed payload.
      const v = validateDownstream(msg.payloadJson);
      expect(v).toEqual({
        ok: false,
        rejection: {
          kind: "stanza-error",
          error: {
            code: "400",
            type: "modify",
            condition: "bad-request",
            text: "InvalidJson: JSON_PARSING_ERROR : Missing Required Field: message_id",
          },
        },
      });
      const rewritten = stanzaErrorStanza(
        { id: el.attrs.id ?? "", to: el.attrs.to ?? "" },
        msg.payloadJson ?? "",
        msg.error,
      );
      expect(readServerMessage(readOne(rewritten))).toEqual(msg);
    },
  );

  test.each(DOC_EXAMPLES.filter((e) => e.role === "stream-header").map((e) => [e.id, e] as const))(
    "%s: stream header (self-closed as printed) starts and ends the stream",
    (_id, ex) => {
      const c = collectingReader();
      c.reader.write(ex.xml);
      expect(c.errors).toEqual([]);
      expect(c.starts).toHaveLength(1);
      expect(c.starts[0]).toMatchObject({
        to: "gcm.googleapis.com",
        version: "1.0",
        "xmlns:stream": NS_STREAM,
      });
      expect(c.ends).toBe(1);
      const again = collectingReader();
      again.reader.write(streamHeader({ to: c.starts[0]?.to ?? "" }));
      expect(again.starts[0]).toEqual(c.starts[0]);
      expect(again.reader.state).toBe("open");
    },
  );

  test.each(DOC_EXAMPLES.filter((e) => e.role === "element").map((e) => [e.id, e] as const))(
    "%s: handshake element read namespace-aware and round-trips",
    (_id, ex) => {
      const el = readOne(ex.xml);
      if (el.getName() === "features") {
        expect(el.getNS()).toBe(NS_STREAM);
        const mechs = el
          .getChild("mechanisms", NS_SASL)
          ?.getChildren("mechanism")
          .map((m) => m.getText());
        expect(mechs).toEqual(["X-OAUTH2", "X-GOOGLE-TOKEN", "PLAIN"]);
      } else {
        expect(el.getNS()).toBe(NS_SASL);
      }
      if (el.getName() === "auth") {
        expect(el.attrs.mechanism).toBe("PLAIN");
        expect(el.getText().replace(/\s/g, "")).toMatch(/^[A-Za-z0-9+/]+=*$/);
      }
      expect(readOne(el.toString()).toString()).toBe(el.toString());
    },
  );

  test.each(DOC_EXAMPLES.filter((e) => e.role === "template").map((e) => [e.id, e] as const))(
    "%s: the body template `<gcm xmlns:google:mobile:data>` is not XML: typed syntax error",
    (_id, ex) => {
      const c = readStream(`<message>${ex.xml}</message>`);
      expect(c.stanzas).toEqual([]);
      expect(c.errors).toHaveLength(1);
      expect(c.errors[0]).toBeInstanceOf(XmlSyntaxError);
    },
  );

  test("003 article fragments: incomplete stanzas wait for more bytes, no event, no error", () => {
    for (const fragment of ARTICLE_FRAGMENTS) {
      const c = collectingReader();
      c.reader.write(STREAM_OPEN + fragment);
      expect(c.stanzas).toEqual([]);
      expect(c.errors).toEqual([]);
      expect(c.reader.state).toBe("open");
    }
  });

  test("NACK examples carry the documented codes and retry classes", () => {
    const byId = (id: string) => {
      const ex = DOC_EXAMPLES.find((e) => e.id === id);
      if (ex === undefined) throw new Error(id);
      const msg = readServerMessage(readOne(ex.xml));
      if (msg?.kind !== "nack") throw new Error(`${id} is not a nack`);
      return msg;
    };
    expect(byId("000-nack-bad-registration")).toMatchObject({
      code: NackCode.BAD_REGISTRATION,
      retry: RetryClass.None,
      description: "Invalid token on 'to' field: SomeInvalidRegistrationId",
    });
    expect(byId("000-nack-invalid-json").description).toBe(
      'InvalidJson: JSON_TYPE_ERROR : Field "time_to_live" must be a JSON java.lang.Number: abc',
    );
    expect(byId("000-nack-quota-exceeded").retry).toBe(RetryClass.SlowerToDevice);
    expect(byId("001-nack-device-rate")).toMatchObject({
      code: NackCode.DEVICE_MESSAGE_RATE_EXCEEDED,
      retry: RetryClass.SlowerToDevice,
    });
    // Older form: the text in `error` itself.
    const ttl = byId("004-nack-invalid-ttl");
    expect(ttl.error).toBe(
      'InvalidJson : INVALID_TTL : Invalid value (-1) for "time_to_live": must be between 0 and "2419200"\n',
    );
    expect(ttl).toMatchObject({ code: NackCode.INVALID_JSON, retry: RetryClass.None });
  });

  test("stanza error conditions are namespaced", () => {
    const ex = DOC_EXAMPLES.find((e) => e.role === "stanza-error");
    const el = readOne(ex?.xml ?? "");
    expect(el.getChild("error")?.getChild("bad-request", NS_STANZAS)).toBeDefined();
  });

  test("a reader instance is reusable across examples only through reset()", () => {
    const reader = new StanzaReader();
    const seen: string[] = [];
    reader.on("stanza", (el) => seen.push(el.getName()));
    for (const ex of DOC_EXAMPLES.filter((e) => e.role === "element")) {
      reader.reset();
      reader.write(STREAM_OPEN + ex.xml);
    }
    expect(seen).toEqual(
      DOC_EXAMPLES.filter((e) => e.role === "element").map((e) => readOne(e.xml).getName()),
    );
  });
});
