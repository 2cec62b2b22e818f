import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StanzaSplitter, unescapeXmlText } from "../../src/connection/stanza-splitter.ts";

type Piece = { gcm: string } | { parse: string };

function run(chunks: string[], max = 1 << 20): Piece[] {
  const out: Piece[] = [];
  const s = new StanzaSplitter(
    { gcm: (json) => out.push({ gcm: json }), parse: (text) => out.push({ parse: text }) },
    max,
  );
  for (const c of chunks) s.write(c);
  return out;
}

const HEADER = `<?xml version='1.0'?><stream:stream from="gcm.googleapis.com" id="x" version="1.0" xmlns:stream="http://etherx.jabber.org/streams" xmlns="jabber:client">`;
const ACK = `<message><gcm xmlns="google:mobile:data">{"from":"t","message_id":"m&amp;1","message_type":"ack"}</gcm></message>`;
const UPSTREAM = `<message to="1@gcm.googleapis.com" from="devices@gcm.googleapis.com" type="normal" id="u>1"><gcm xmlns="google:mobile:data">{"from":"d","message_id":"1","category":"c","data":{}}</gcm></message>`;
const STANZA_ERROR = `<message id="3" type="error"><gcm xmlns="google:mobile:data">{}</gcm><error code="400" type="modify"><bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></message>`;
const PREFIXED = `<message><data:gcm xmlns:data="google:mobile:data">{"message_type":"control","control_type":"CONNECTION_DRAINING"}</data:gcm></message>`;
const IQ = `<iq type="get" id="p1"><ping xmlns="urn:xmpp:ping"/></iq>`;
const SUCCESS = `<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>`;
const FEATURES = `<str:features xmlns:str="http://etherx.jabber.org/streams"><mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>PLAIN</mechanism></mechanisms></str:features>`;

const STREAM = [
  HEADER,
  FEATURES,
  SUCCESS,
  " ",
  ACK,
  "  ",
  UPSTREAM,
  "\n",
  STANZA_ERROR,
  PREFIXED,
  IQ,
  "</stream:stream>",
];
const EXPECTED: Piece[] = [
  { parse: "<?xml version='1.0'?>" },
  { parse: HEADER.slice("<?xml version='1.0'?>".length) },
  { parse: FEATURES },
  { parse: SUCCESS },
  { gcm: `{"from":"t","message_id":"m&1","message_type":"ack"}` },
  { gcm: `{"from":"d","message_id":"1","category":"c","data":{}}` },
  { parse: STANZA_ERROR },
  { parse: PREFIXED },
  { parse: IQ },
  { parse: "</stream:stream>" },
];

describe("StanzaSplitter", () => {
  it("decodes plain gcm messages, hands everything else to the parser in order, drops keepalives", () => {
    expect(run([STREAM.join("")])).toEqual(EXPECTED);
  });

  it("gives the same pieces however the text is chunked", () => {
    const text = STREAM.join("");
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: text.length - 1 }), { maxLength: 12 }), (cuts) => {
        const sorted = [...cuts].sort((a, b) => a - b);
        const chunks: string[] = [];
        let prev = 0;
        for (const c of sorted) {
          chunks.push(text.slice(prev, c));
          prev = c;
        }
        chunks.push(text.slice(prev));
        expect(run(chunks)).toEqual(EXPECTED);
      }),
    );
  });

  it("falls back to passthrough for comments and CDATA at stream level", () => {
    expect(run([`${ACK}<!-- hi -->${ACK}`])).toEqual([
      { gcm: `{"from":"t","message_id":"m&1","message_type":"ack"}` },
      { parse: `<!-- hi -->${ACK}` },
    ]);
  });

  it("refuses to buffer an endless stanza", () => {
    const s = new StanzaSplitter({ gcm: () => undefined, parse: () => undefined }, 100);
    expect(() => s.write(`<message><gcm xmlns="google:mobile:data">${"x".repeat(200)}`)).toThrow(RangeError);
  });

  it("unescapes entities and character references", () => {
    expect(unescapeXmlText("a&amp;b&lt;&gt;&quot;&apos;&#65;&#x42;&bogus;")).toBe(`a&b<>"'AB&bogus;`);
  });
});
