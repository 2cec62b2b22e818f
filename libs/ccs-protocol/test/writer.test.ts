import { EventEmitter } from "node:events";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  ackStanza,
  controlStanza,
  downstreamStanza,
  escapeXmlAttr,
  escapeXmlText,
  gcmMessageStanza,
  gcmPayloadOf,
  InvalidOptionError,
  InvalidXmlCharError,
  nackStanza,
  readServerMessage,
  receiptStanza,
  StanzaBatchWriter,
  stanzaErrorStanza,
  WriterClosedError,
  WriterOverflowError,
} from "../src/index.ts";
import { readStream } from "./helpers.ts";

// biome-ignore lint/suspicious/noControlCharactersInRegex: filtering out what XML can't carry
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

describe("escaping", () => {
  test("text and attribute escapes", () => {
    expect(escapeXmlText(`a&b<c>d"e'f]]>`)).toBe("a&amp;b&lt;c&gt;d\"e'f]]&gt;");
    expect(escapeXmlAttr(`a&b<c>d"e'f\t\n\r`)).toBe("a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;&#10;&#13;");
    expect(escapeXmlText("plain")).toBe("plain");
    expect(escapeXmlText("emoji 😀")).toBe("emoji 😀");
  });

  test("characters XML cannot carry are refused", () => {
    expect(() => escapeXmlText("a\u0000b")).toThrow(InvalidXmlCharError);
    expect(() => escapeXmlAttr("\uD800x")).toThrow(InvalidXmlCharError);
    expect(() => escapeXmlText("x\uDC00")).toThrow(InvalidXmlCharError);
    expect(() => escapeXmlText("\uFFFF")).toThrow(InvalidXmlCharError);
    expect(() => gcmMessageStanza('{"a":"\u0001"}')).toThrow(InvalidXmlCharError);
  });

  test("any XML-safe string survives as text and as attribute value (property)", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary", maxLength: 80 }).filter((s) => s.isWellFormed() && !FORBIDDEN.test(s)),
        (s) => {
          const c = readStream(
            `<message id="${escapeXmlAttr(s)}"><body>${escapeXmlText(s)}</body></message>`,
          );
          expect(c.errors).toEqual([]);
          const el = c.stanzas[0];
          expect(el?.attrs.id).toBe(s);
          expect(el?.getChild("body")?.getText() ?? "").toBe(s);
        },
      ),
      { numRuns: 500 },
    );
  });

  test("any JSON value written with gcmMessageStanza is read back identical (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const c = readStream(gcmMessageStanza({ v }));
        expect(c.errors).toEqual([]);
        const el = c.stanzas[0];
        expect(el).toBeDefined();
        if (el !== undefined)
          expect(JSON.parse(gcmPayloadOf(el) ?? "")).toEqual(JSON.parse(JSON.stringify({ v })));
      }),
      { numRuns: 300 },
    );
  });
});

describe("escaping of stringified JSON", () => {
  test("an object is written exactly as its JSON text would be, or refused the same way (property)", () => {
    const odd = fc.constantFrom(
      "&",
      "<",
      ">",
      "]]>",
      "\uFFFE",
      "\uFFFF",
      "\u0000",
      "\uD800",
      "\t",
      "é",
      "😀",
    );
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ maxLength: 6 }),
          fc.oneof(fc.string({ unit: "binary", maxLength: 20 }), odd),
        ),
        fc.boolean(),
        (obj, prefixed) => {
          const viaText = () => gcmMessageStanza(JSON.stringify(obj), { prefixed });
          const viaObject = () => gcmMessageStanza(obj, { prefixed });
          let expected: string | undefined;
          try {
            expected = viaText();
          } catch (err) {
            expect(err).toBeInstanceOf(InvalidXmlCharError);
            expect(viaObject).toThrow(InvalidXmlCharError);
            return;
          }
          expect(viaObject()).toBe(expected);
          expect(gcmMessageStanza(obj)).toBe(gcmMessageStanza(JSON.stringify(obj)));
        },
      ),
      { numRuns: 500 },
    );
  });

  test("U+FFFE/U+FFFF (which JSON.stringify leaves as is) are refused in objects too", () => {
    expect(() => gcmMessageStanza({ a: "\uFFFE" })).toThrow(InvalidXmlCharError);
    expect(() => downstreamStanza({ to: "x", message_id: "\uFFFF" })).toThrow(InvalidXmlCharError);
    expect(gcmMessageStanza({ a: "<&>" })).toContain('{"a":"&lt;&amp;&gt;"}');
  });
});

describe("stanza writers", () => {
  test("shapes", () => {
    expect(downstreamStanza({ to: "tok", message_id: "1" }, "s1")).toBe(
      '<message id="s1"><gcm xmlns="google:mobile:data">{"to":"tok","message_id":"1"}</gcm></message>',
    );
    expect(controlStanza("CONNECTION_DRAINING", { prefixed: true })).toBe(
      '<message><data:gcm xmlns:data="google:mobile:data">{"message_type":"control","control_type":"CONNECTION_DRAINING"}</data:gcm></message>',
    );
    expect(ackStanza("a<b", "1")).toContain("a&lt;b");
  });

  test("receipt defaults", () => {
    const c = readStream(
      receiptStanza({ originalMessageId: "m-1", deviceRegistrationId: "R", category: "com.x" }),
    );
    expect(readServerMessage(c.stanzas[0] ?? ({} as never))).toMatchObject({
      kind: "receipt",
      messageId: "dr2:m-1",
      from: "gcm.googleapis.com",
      messageStatus: "MESSAGE_SENT_TO_DEVICE",
      originalMessageId: "m-1",
      deviceRegistrationId: "R",
    });
  });

  test("nack without from", () => {
    const c = readStream(nackStanza(undefined, "m", "SERVICE_UNAVAILABLE"));
    const msg = readServerMessage(c.stanzas[0] ?? ({} as never));
    expect(msg).toMatchObject({
      kind: "nack",
      code: "SERVICE_UNAVAILABLE",
      retry: "same-connection-backoff",
    });
    expect(msg && "from" in msg).toBe(false);
  });

  test("stanza error forces type=error and checks the condition", () => {
    const s = stanzaErrorStanza({ id: "3", type: "chat" }, "{}", {
      code: "400",
      type: "modify",
      condition: "bad-request",
    });
    expect(s.startsWith('<message id="3" type="error">')).toBe(true);
    expect(() =>
      stanzaErrorStanza({}, "{}", { code: "400", type: "modify", condition: 'x"/><evil' }),
    ).toThrow(InvalidOptionError);
  });
});

class FakeSocket extends EventEmitter {
  writes: string[] = [];
  full = false;
  write(chunk: string): boolean {
    this.writes.push(chunk);
    return !this.full;
  }
}

describe("StanzaBatchWriter", () => {
  test("stanzas pushed in the same tick go out in one write", async () => {
    const sink = new FakeSocket();
    const w = new StanzaBatchWriter(sink);
    for (let i = 0; i < 50; i++) w.push(ackStanza("r", String(i)));
    expect(sink.writes).toEqual([]);
    expect(w.state).toBe("scheduled");
    await Promise.resolve();
    expect(sink.writes).toHaveLength(1);
    expect(readStream(sink.writes[0] ?? "").stanzas).toHaveLength(50);
    expect(w.writes).toBe(1);
  });

  test("flushes early past maxBatchBytes", () => {
    const sink = new FakeSocket();
    const w = new StanzaBatchWriter(sink, { maxBatchBytes: 100, schedule: () => {} });
    w.push("x".repeat(60));
    expect(sink.writes).toHaveLength(0);
    w.push("y".repeat(60));
    expect(sink.writes).toEqual(["x".repeat(60) + "y".repeat(60)]);
  });

  test("respects a false return and 'drain'; bounded queue", async () => {
    const sink = new FakeSocket();
    const w = new StanzaBatchWriter(sink, { maxBatchBytes: 10, maxQueuedBytes: 100 });
    sink.full = true;
    w.push("a".repeat(10)); // written, sink says full
    expect(sink.writes).toHaveLength(1);
    expect(w.backpressured).toBe(true);
    w.push("b".repeat(40));
    w.push("c".repeat(40));
    await Promise.resolve();
    expect(sink.writes).toHaveLength(1);
    expect(() => w.push("d".repeat(30))).toThrow(WriterOverflowError);
    const drained = w.drained();
    sink.full = false;
    sink.emit("drain");
    expect(sink.writes).toEqual(["a".repeat(10), "b".repeat(40) + "c".repeat(40)]);
    await drained;
    expect(w.state).toBe("idle");
  });

  test("close returns what was never written and refuses more", () => {
    const sink = new FakeSocket();
    const w = new StanzaBatchWriter(sink, { schedule: () => {} });
    w.push("a");
    w.push("b");
    expect(w.close()).toEqual(["a", "b"]);
    expect(() => w.push("c")).toThrow(WriterClosedError);
  });

  test("sink errors in a scheduled flush go to onError", async () => {
    const errors: unknown[] = [];
    const w = new StanzaBatchWriter(
      {
        write: () => {
          throw new Error("socket gone");
        },
      },
      { onError: (e) => errors.push(e) },
    );
    w.push("a");
    await Promise.resolve();
    expect(errors).toHaveLength(1);
  });

  test("options validated", () => {
    expect(() => new StanzaBatchWriter(new FakeSocket(), { maxBatchBytes: 0 })).toThrow(InvalidOptionError);
    expect(() => new StanzaBatchWriter(new FakeSocket(), { maxBatchBytes: 10, maxQueuedBytes: 5 })).toThrow(
      InvalidOptionError,
    );
  });
});
