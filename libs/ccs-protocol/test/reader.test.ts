import { describe, expect, test, vi } from "vitest";
import {
  ackStanza,
  gcmPayloadOf,
  InvalidOptionError,
  InvalidUtf8Error,
  readServerMessage,
  StanzaReader,
  StanzaTooDeepError,
  StanzaTooLargeError,
  streamHeader,
  UnsafeXmlConstruct,
  UnsafeXmlError,
  XmlSyntaxError,
} from "../src/index.ts";
import { collectingReader, readStream, STREAM_CLOSE, STREAM_OPEN, writeSplit } from "./helpers.ts";

const GCM = '<gcm xmlns="google:mobile:data">';

describe("StanzaReader: reading", () => {
  test("decodes entities a real client sends inside the JSON", () => {
    const c = readStream(
      `<message id="a&amp;b">${GCM}{&quot;message_type&quot;:&quot;ack&quot;,&quot;from&quot;:&quot;x&lt;y&quot;,&quot;message_id&quot;:&quot;&#x31;&#50;&apos;&quot;}</gcm></message>`,
    );
    expect(c.errors).toEqual([]);
    const el = c.stanzas[0];
    if (el === undefined) throw new Error("no stanza");
    expect(el.attrs.id).toBe("a&b");
    expect(readServerMessage(el)).toMatchObject({ kind: "ack", from: "x<y", messageId: "12'" });
  });

  test("accepts the prefixed payload element and ignores a gcm element of another namespace", () => {
    const c = readStream(
      `<message><data:gcm xmlns:data="google:mobile:data">{"a":1}</data:gcm></message>` +
        `<message><gcm xmlns="urn:other">{"b":2}</gcm></message>` +
        `<message><x:gcm xmlns:x="urn:other" xmlns="google:mobile:data">{"c":3}</x:gcm></message>`,
    );
    expect(c.stanzas.map((el) => gcmPayloadOf(el))).toEqual(['{"a":1}', undefined, undefined]);
  });

  test("multi-byte UTF-8 split at every byte position", () => {
    const json = JSON.stringify({ t: "héllo 😀 日本 ŧ€ß" });
    const stanza = `<message>${GCM}${json}</gcm></message>`;
    const bytes = Buffer.from(STREAM_OPEN + stanza + STREAM_CLOSE, "utf8");
    for (let cut = 1; cut < bytes.length; cut++) {
      const c = collectingReader();
      writeSplit(c.reader, bytes, [cut]);
      expect(c.errors).toEqual([]);
      expect(c.stanzas.map((el) => gcmPayloadOf(el))).toEqual([json]);
      expect(c.ends).toBe(1);
    }
  });

  test("whitespace keepalives are skipped without counting against or growing any buffer", () => {
    const c = collectingReader({ maxStanzaBytes: 1024 });
    c.reader.write(STREAM_OPEN);
    for (let i = 0; i < 5000; i++) c.reader.write(" ");
    c.reader.write("\n\t\r ".repeat(10_000));
    c.reader.write(ackStanza("r", "1"));
    c.reader.write(" ".repeat(100_000));
    c.reader.write(ackStanza("r", "2"));
    expect(c.errors).toEqual([]);
    expect(c.stanzas.map((el) => readServerMessage(el))).toMatchObject([
      { messageId: "1" },
      { messageId: "2" },
    ]);
  });

  test("XML declaration and BOM at the start are accepted; streamHeader output reads back", () => {
    const c = collectingReader();
    c.reader.write(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(streamHeader({ to: "x" }))]));
    expect(c.errors).toEqual([]);
    expect(c.starts[0]?.to).toBe("x");
  });

  test("CDATA inside a stanza, split across chunks", () => {
    const stanza = `<message>${GCM}<![CDATA[{"a":"<b>]] ]>"}]]></gcm></message>`;
    const bytes = Buffer.from(STREAM_OPEN + stanza, "utf8");
    for (let cut = STREAM_OPEN.length; cut < bytes.length; cut++) {
      const c = collectingReader();
      writeSplit(c.reader, bytes, [cut]);
      expect(c.errors).toEqual([]);
      expect(c.stanzas.map((el) => gcmPayloadOf(el))).toEqual(['{"a":"<b>]] ]>"}']);
    }
  });

  test("reset() from a stanza listener: the rest of the chunk is read as the new stream", () => {
    const reader = new StanzaReader();
    const log: string[] = [];
    reader.on("streamStart", (attrs) => log.push(`start:${attrs.id}`));
    reader.on("stanza", (el) => {
      log.push(el.getName());
      if (el.getName() === "success") reader.reset();
    });
    reader.on("error", (err) => log.push(`error:${err.message}`));
    reader.write(
      `${STREAM_OPEN.replace('id="S1"', 'id="one"')}<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>` +
        `${STREAM_OPEN.replace('id="S1"', 'id="two"')}<stream:features/>`,
    );
    expect(log).toEqual(["start:one", "success", "start:two", "features"]);
    expect(reader.state).toBe("open");
  });

  test("a throwing listener does not break the stream: later stanzas still come, first exception rethrown", () => {
    const reader = new StanzaReader();
    const ids: string[] = [];
    reader.on("stanza", (el) => {
      ids.push(el.attrs.id ?? "");
      if (el.attrs.id === "1") throw new Error("listener bug");
    });
    expect(() => reader.write(`${STREAM_OPEN}<message id="1"/><message id="2"/>`)).toThrow("listener bug");
    reader.write('<message id="3"/>');
    expect(ids).toEqual(["1", "2", "3"]);
  });

  test("without an error listener, write never throws and the fault is kept", () => {
    const reader = new StanzaReader();
    expect(() => reader.write("<!DOCTYPE x><stream:stream>")).not.toThrow();
    expect(reader.state).toBe("failed");
    expect(reader.error).toBeInstanceOf(UnsafeXmlError);
  });

  test("options are validated", () => {
    expect(() => new StanzaReader({ maxStanzaBytes: 0 })).toThrow(InvalidOptionError);
    expect(() => new StanzaReader({ maxStanzaBytes: 1.5 })).toThrow(InvalidOptionError);
    expect(() => new StanzaReader({ maxDepth: 0 })).toThrow(InvalidOptionError);
  });
});

describe("StanzaReader: faults are typed errors and stop the reader", () => {
  const unsafe: Array<[string, string, UnsafeXmlConstruct]> = [
    [
      "DOCTYPE before the stream",
      '<?xml version="1.0"?><!DOCTYPE stream [<!ENTITY x "y">]>',
      UnsafeXmlConstruct.Doctype,
    ],
    [
      "entity declaration inside a stanza",
      `${STREAM_OPEN}<message><!ENTITY x "y"></message>`,
      UnsafeXmlConstruct.MarkupDeclaration,
    ],
    ["comment inside a stanza", `${STREAM_OPEN}<message><!-- hi --></message>`, UnsafeXmlConstruct.Comment],
    ["comment between stanzas", `${STREAM_OPEN}<!-- hi -->`, UnsafeXmlConstruct.Comment],
    [
      "processing instruction inside a stanza",
      `${STREAM_OPEN}<message><?php x ?></message>`,
      UnsafeXmlConstruct.ProcessingInstruction,
    ],
    [
      "XML declaration after the stream header",
      `${STREAM_OPEN}<?xml version="1.0"?>`,
      UnsafeXmlConstruct.ProcessingInstruction,
    ],
    [
      "second XML declaration",
      `<?xml version="1.0"?><?xml version="1.0"?>`,
      UnsafeXmlConstruct.ProcessingInstruction,
    ],
    [
      "stylesheet PI at the start",
      `<?xml-stylesheet href="x"?>${STREAM_OPEN}`,
      UnsafeXmlConstruct.ProcessingInstruction,
    ],
  ];
  test.each(unsafe)("%s", (_name, input, construct) => {
    const c = collectingReader();
    c.reader.write(input);
    expect(c.errors).toHaveLength(1);
    expect(c.errors[0]).toBeInstanceOf(UnsafeXmlError);
    expect((c.errors[0] as UnsafeXmlError).construct).toBe(construct);
    expect(c.reader.state).toBe("failed");
    c.reader.write(`${STREAM_OPEN}<message/>`);
    expect(c.stanzas).toEqual([]);
    expect(c.errors).toHaveLength(1);
  });

  const syntax: Array<[string, string]> = [
    ["mismatched end tag", "<message><gcm></message></gcm>"],
    ["text between stanzas", "hello<message/>"],
    ["undefined entity", "<message>&nbsp;</message>"],
    ["'<' in an attribute value", '<message id="a<b"/>'],
    ["attribute without value", "<message id/>"],
    ["attributes without whitespace", '<message a="1"b="2"/>'],
    ["CDATA between stanzas", "<![CDATA[x]]>"],
    ["empty tag name", "< message/>"],
    // '?' or '!' in a tag name used to send the parser into comment/PI skipping, swallowing later stanzas
    ["'?' in an end tag name", `<message>${GCM}{}</gcm></me?sage><message id="2"/>`],
    ["'!' in an end tag name", `<message>${GCM}{}</gcm></me!ssage><message id="2"/>`],
    ["'?' in a start tag name", `<mes?sage/><message id="2"/>`],
    ["'!' first in an end tag name", `<message></!message><message id="2"/>`],
  ];
  test.each(syntax)("%s", (_name, body) => {
    const c = readStream(body);
    expect(c.errors).toHaveLength(1);
    expect(c.errors[0]).toBeInstanceOf(XmlSyntaxError);
    expect(c.stanzas).toEqual([]);
  });

  test("content after the end of the stream", () => {
    const c = readStream("");
    c.reader.write("<message/>");
    expect(c.ends).toBe(1);
    expect(c.errors[0]).toBeInstanceOf(XmlSyntaxError);
  });

  test("invalid UTF-8", () => {
    const c = collectingReader();
    c.reader.write(STREAM_OPEN);
    c.reader.write(Buffer.from([0x3c, 0x6d, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x6d, 0x3e]));
    expect(c.errors[0]).toBeInstanceOf(InvalidUtf8Error);
  });

  test("stanzas before a fault in the same chunk are emitted first", () => {
    const c = collectingReader();
    const order: string[] = [];
    c.reader.on("stanza", () => order.push("stanza"));
    c.reader.on("error", () => order.push("error"));
    c.reader.write(`${STREAM_OPEN}<message id="1"/><message id="2"/><!-- x -->`);
    expect(order).toEqual(["stanza", "stanza", "error"]);
  });

  test("a stanza over the limit is refused before it is buffered (one chunk, or many)", () => {
    const limit = 1024;
    const big = `<message>${GCM}${"x".repeat(2000)}</gcm></message>`;
    const whole = readStream(`<message id="ok"/>${big}`, { maxStanzaBytes: limit });
    expect(whole.stanzas).toHaveLength(1);
    expect(whole.errors[0]).toBeInstanceOf(StanzaTooLargeError);
    expect((whole.errors[0] as StanzaTooLargeError).limit).toBe(limit);

    const c = collectingReader({ maxStanzaBytes: limit });
    c.reader.write(STREAM_OPEN);
    let written = 0;
    const chunk = "y".repeat(100);
    c.reader.write(`<message>${GCM}`);
    while (c.errors.length === 0 && written < 1_000_000) {
      c.reader.write(chunk);
      written += chunk.length;
    }
    expect(c.errors[0]).toBeInstanceOf(StanzaTooLargeError);
    expect(written).toBeLessThanOrEqual(limit);
  });

  test("the parser is never handed more than the limit per stanza (bounded memory)", async () => {
    const { Parser } = await import("@xmpp/xml");
    const spy = vi.spyOn(Parser.prototype, "write");
    try {
      const limit = 4096;
      const c = collectingReader({ maxStanzaBytes: limit });
      c.reader.write(STREAM_OPEN);
      spy.mockClear();
      const huge = Buffer.from(`<message>${GCM}${"z".repeat(10 * 1024 * 1024)}</gcm></message>`);
      for (let i = 0; i < huge.length; i += 65536) c.reader.write(huge.subarray(i, i + 65536));
      const fed = spy.mock.calls.reduce((n, call) => n + String(call[0]).length, 0);
      expect(fed).toBeLessThanOrEqual(limit);
      expect(c.errors[0]).toBeInstanceOf(StanzaTooLargeError);
    } finally {
      spy.mockRestore();
    }
  });

  test("the stream header counts against the limit too", () => {
    const c = collectingReader({ maxStanzaBytes: 128 });
    c.reader.write(`<stream:stream x="${"a".repeat(200)}">`);
    expect(c.errors[0]).toBeInstanceOf(StanzaTooLargeError);
    expect(c.starts).toEqual([]);
  });

  test("nesting deeper than maxDepth", () => {
    const deep = `${"<a>".repeat(10)}${"</a>".repeat(10)}`;
    expect(readStream(deep, { maxDepth: 10 }).errors).toEqual([]);
    const c = readStream(deep, { maxDepth: 9 });
    expect(c.errors[0]).toBeInstanceOf(StanzaTooDeepError);
  });
});
