import fc from "fast-check";
import { describe, expect, test, vi } from "vitest";
import {
  ackStanza,
  type Element,
  gcmMessageStanza,
  StanzaReader,
  type StanzaReaderOptions,
  stanzaErrorStanza,
} from "../src/index.ts";
import { STREAM_CLOSE, STREAM_OPEN, writeSplit } from "./helpers.ts";

// The fast path must be invisible: same events, same Elements (names, attrs in order, children,
// parent links), same errors at the same offsets as the full parser path.

function shape(el: Element | string, root: Element | undefined): unknown {
  if (typeof el === "string") return el;
  return {
    name: el.name,
    attrs: Object.entries(el.attrs),
    parent: el.parent === null ? null : el.parent === root ? "root" : el.parent.name,
    children: el.children.map((c) => shape(c, root)),
  };
}

function eventLog(bytes: Uint8Array, cuts: readonly number[], options: StanzaReaderOptions): unknown[] {
  const reader = new StanzaReader(options);
  const log: unknown[] = [];
  let root: Element | undefined;
  reader.on("streamStart", (attrs, el) => {
    root = el;
    log.push(["start", Object.entries(attrs)]);
  });
  reader.on("stanza", (el) => log.push(["stanza", shape(el, root), el.getName(), el.getNS() ?? null]));
  reader.on("streamEnd", () => log.push(["end"]));
  reader.on("error", (err) => log.push(["error", err.name, err.message, err.offset]));
  writeSplit(reader, bytes, cuts);
  log.push(["state", reader.state]);
  return log;
}

const GCM_NS = "google:mobile:data";

const text = fc
  .string({ unit: "grapheme", maxLength: 20 })
  // biome-ignore lint/suspicious/noControlCharactersInRegex: what the writers refuse in attributes
  .filter((s) => s.isWellFormed() && !/[\u0000-\u001F\uFFFE\uFFFF]/.test(s));
const attrValue = fc.oneof(
  text,
  fc.constantFrom("a&amp;b", "&quot;x&quot;", "&#x31;&#50;", "&nbsp;", "&#0;", "a>b", "&", "é&lt;"),
);

const handcrafted = fc.constantFrom(
  `<message id='single'><gcm xmlns="${GCM_NS}">{"a":1}</gcm></message>`,
  `<message id = "spaced"><gcm xmlns="${GCM_NS}">{}</gcm></message>`,
  `<message id="x"/>`,
  `<message><gcm xmlns="${GCM_NS}"/></message>`,
  `<message><gcm xmlns="${GCM_NS}"></gcm></message>`,
  `<message><gcm xmlns='${GCM_NS}'>{}</gcm></message>`,
  `<message><gcm xmlns="${GCM_NS}">{&quot;a&quot;:&#x31;&#50;}</gcm></message>`,
  `<message><gcm xmlns="${GCM_NS}">&nbsp;</gcm></message>`,
  `<message><gcm xmlns="${GCM_NS}">&#0;</gcm></message>`,
  `<message><gcm xmlns="${GCM_NS}">a & b</gcm></message>`,
  `<message><gcm xmlns="${GCM_NS}"><![CDATA[{"a":"<b>"}]]></gcm></message>`,
  `<message><gcm xmlns="${GCM_NS}">{}</gcm> </message>`,
  `<message><gcm xmlns="${GCM_NS}">{}</gcm ></message>`,
  `<message><gcm xmlns="urn:other">{}</gcm></message>`,
  `<message xmlns:data="${GCM_NS}"><data:gcm>{}</data:gcm></message>`,
  `<message><data:gcm xmlns:data="${GCM_NS}">{"é":"日本"}</data:gcm></message>`,
  `<messages><gcm xmlns="${GCM_NS}">{}</gcm></messages>`,
  `<message id="a<b"><gcm xmlns="${GCM_NS}">{}</gcm></message>`,
  `<message a="1"b="2"><gcm xmlns="${GCM_NS}">{}</gcm></message>`,
  `<message é="1"><gcm xmlns="${GCM_NS}">{}</gcm></message>`,
  `<message =""><gcm xmlns="${GCM_NS}">{}</gcm></message>`,
  `<message id="1" id="2"><gcm xmlns="${GCM_NS}">{}</gcm></message>`,
  `<message __proto__="x" constructor="y"><gcm xmlns="${GCM_NS}">{}</gcm></message>`,
  `<message><gcm xmlns="${GCM_NS}">{}</gcm></message><!-- c -->`,
  `<message><gcm xmlns="${GCM_NS}">{}</gcm><x/></message>`,
  `<iq type="get" id="p"><ping xmlns="urn:xmpp:ping"/></iq>`,
  `<message><gcm xmlns="${GCM_NS}">{}</data:gcm></message>`,
  `<message><gcm xmlns="${GCM_NS}">]]></gcm></message>`,
  "\u0000",
  "<",
);

const stanza = fc.oneof(
  fc.tuple(text, text).map(([from, id]) => ackStanza(from, id)),
  fc
    .record({
      json: fc.dictionary(fc.string({ maxLength: 6 }), text, { maxKeys: 3 }),
      id: fc.option(attrValue, { nil: undefined }),
      to: fc.option(text, { nil: undefined }),
      type: fc.option(fc.constantFrom("chat", "normal"), { nil: undefined }),
      prefixed: fc.boolean(),
    })
    .map(({ json, id, to, type, prefixed }) => {
      const s = gcmMessageStanza(json, { to, type, prefixed });
      // attribute values written raw, so entities and odd characters reach the reader as such
      return id === undefined ? s : s.replace("<message", `<message id="${id}"`);
    }),
  fc.tuple(text, fc.boolean()).map(([t, prefixed]) =>
    stanzaErrorStanza({ id: "e", prefixed }, '{"a":1}', {
      code: "400",
      type: "modify",
      condition: "bad-request",
      text: t,
    }),
  ),
  handcrafted,
);

const ws = fc.constantFrom("", " ", "\n", "\r\n\t ");

const streamArb = fc.array(fc.tuple(ws, stanza), { maxLength: 10 });

const optionsArb = fc.record({
  maxStanzaBytes: fc.constantFrom(64, 100, 200, 64 * 1024),
  maxDepth: fc.constantFrom(1, 2, 3, 32),
});

function compare(bytes: Uint8Array, cuts: readonly number[], options: StanzaReaderOptions): void {
  const fast = eventLog(bytes, cuts, { ...options, fastPath: true });
  const full = eventLog(bytes, cuts, { ...options, fastPath: false });
  expect(fast).toEqual(full);
}

describe("StanzaReader fast path vs full parser path (differential)", () => {
  test("generated streams, random splits and limits: identical events", () => {
    fc.assert(
      fc.property(streamArb, fc.array(fc.nat(), { maxLength: 12 }), optionsArb, (items, cutsRaw, options) => {
        const body = items.map(([w, s]) => w + s).join("");
        const bytes = Buffer.from(STREAM_OPEN + body + STREAM_CLOSE, "utf8");
        compare(
          bytes,
          cutsRaw.map((n) => n % (bytes.length + 1)),
          options,
        );
      }),
      { numRuns: 1500 },
    );
  });

  test("corrupted streams (flipped, inserted, deleted bytes): identical events", () => {
    fc.assert(
      fc.property(
        streamArb,
        fc.array(
          fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("flip", "insert", "delete")),
          { minLength: 1, maxLength: 6 },
        ),
        fc.array(fc.nat(), { maxLength: 8 }),
        optionsArb,
        (items, edits, cutsRaw, options) => {
          const original = Buffer.from(
            STREAM_OPEN + items.map(([w, s]) => w + s).join("") + STREAM_CLOSE,
            "utf8",
          );
          const bytes = [...original];
          for (const [at, value, op] of edits) {
            const i = at % (bytes.length + 1);
            if (op === "flip" && i < bytes.length) bytes[i] = value;
            else if (op === "insert") bytes.splice(i, 0, value);
            else if (op === "delete" && i < bytes.length) bytes.splice(i, 1);
          }
          const buf = Uint8Array.from(bytes);
          compare(
            buf,
            cutsRaw.map((n) => n % (buf.length + 1)),
            options,
          );
        },
      ),
      { numRuns: 1500 },
    );
  });

  test("small chunks (stanzas carried over several writes): identical events", () => {
    fc.assert(
      fc.property(streamArb, fc.integer({ min: 1, max: 64 }), optionsArb, (items, size, options) => {
        const bytes = Buffer.from(STREAM_OPEN + items.map(([w, s]) => w + s).join("") + STREAM_CLOSE, "utf8");
        const cuts: number[] = [];
        for (let at = size; at < bytes.length; at += size) cuts.push(at);
        compare(bytes, cuts, options);
      }),
      { numRuns: 300 },
    );
  });

  test("a stanza cut by the end of a write is carried, not parsed, and read whole once the rest arrives", async () => {
    const { Parser } = await import("@xmpp/xml");
    const stanza = `<message id="a"><gcm xmlns="${GCM_NS}">{"message_type":"ack"}</gcm></message>`;
    const reader = new StanzaReader();
    const ids: string[] = [];
    reader.on("stanza", (el) => ids.push(el.attrs.id ?? ""));
    reader.write(STREAM_OPEN);
    const spy = vi.spyOn(Parser.prototype, "write");
    try {
      for (const ch of stanza + stanza.replace('"a"', '"b"')) reader.write(ch);
      expect(spy).not.toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    expect(ids).toEqual(["a", "b"]);
    expect(reader.state).toBe("open");
  });

  test("reset() from a stanza listener in the middle of fast-path stanzas", () => {
    const stanzas = `<message id="1"><gcm xmlns="${GCM_NS}">{}</gcm></message><message id="2"><gcm xmlns="${GCM_NS}">{}</gcm></message>`;
    const input = `${STREAM_OPEN}${stanzas}${STREAM_OPEN.replace('id="S1"', 'id="S2"')}${stanzas}`;
    const logs = [true, false].map((fastPath) => {
      const reader = new StanzaReader({ fastPath });
      const log: string[] = [];
      reader.on("streamStart", (attrs, root) => log.push(`start:${root.name}:${attrs.id}`));
      reader.on("stanza", (el) => {
        log.push(`${el.name}:${el.attrs.id}:${el.parent?.attrs.id}`);
        if (el.attrs.id === "1" && log.length === 2) reader.reset();
      });
      reader.on("error", (err) => log.push(`error:${err.name}:${err.offset}`));
      reader.write(input);
      return log;
    });
    expect(logs[0]).toEqual(logs[1]);
    // After the reset the rest of the chunk is a new stream: its first element is taken as the header.
    expect(logs[0]?.slice(0, 3)).toEqual(["start:stream:stream:S1", "message:1:S1", "start:message:2"]);
  });
});
