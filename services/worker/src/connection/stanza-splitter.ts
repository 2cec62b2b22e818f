// The read hot path: splits the decoded text of a CCS stream into top-level pieces so that the common
// case, `<message ...><gcm xmlns="google:mobile:data">JSON</gcm></message>` (every ACK, NACK, receipt and
// upstream message CCS sends), is decoded straight from the string; everything else (stream header and
// end, features, SASL, iq, stream errors, stanza errors, prefixed payloads) goes, one complete piece at a
// time and in order, to xmpp.js's parser. Whitespace keepalives between stanzas are dropped here.
//
// Limits of the splitter, all handled by handing the rest of the stream to the parser for good
// ("passthrough"): comments, CDATA, DTDs and text other than whitespace at stream level. A top-level
// element is assumed not to contain a descendant of its own name (true of every XMPP stream element).

const GCM_OPEN = '<gcm xmlns="google:mobile:data">';
const GCM_CLOSE = "</gcm></message>";
const MESSAGE_CLOSE = "</message>";

export interface SplitterSink {
  /** A plain gcm `<message>` (not type="error"): its decoded JSON text. */
  gcm(json: string): void;
  /** Anything else: a complete top-level element, the stream header, the stream end, or raw passthrough. */
  parse(text: string): void;
}

export class StanzaSplitter {
  readonly #sink: SplitterSink;
  readonly #maxPendingChars: number;
  #buf = "";
  #passthrough = false;

  constructor(sink: SplitterSink, maxPendingChars: number) {
    this.#sink = sink;
    this.#maxPendingChars = maxPendingChars;
  }

  /** Characters held back waiting for the rest of a stanza. */
  get buffered(): number {
    return this.#buf.length;
  }

  /**
   * Feeds decoded stream text. Throws RangeError when one piece exceeds maxPendingChars (a peer that
   * never finishes a stanza); the caller closes the connection.
   */
  write(text: string): void {
    if (this.#passthrough) {
      this.#sink.parse(text);
      return;
    }
    const buf = this.#buf.length === 0 ? text : this.#buf + text;
    const n = buf.length;
    let pos = 0;
    while (pos < n) {
      const c = buf.charCodeAt(pos);
      if (c === 32 || c === 10 || c === 13 || c === 9) {
        pos++;
        continue;
      }
      if (c !== 60 || pos + 1 >= n) {
        if (c !== 60) {
          this.#toPassthrough(buf.slice(pos));
          return;
        }
        break; // a lone '<' at the end: wait for more
      }
      const next = buf.charCodeAt(pos + 1);
      if (next === 33) {
        // <!-- or <![CDATA[ or <!DOCTYPE
        this.#toPassthrough(buf.slice(pos));
        return;
      }
      const tagEnd = findTagEnd(buf, pos);
      if (tagEnd === -1) break;
      if (next === 63 || next === 47) {
        // <?xml ...?> declaration or </stream:stream>
        this.#sink.parse(buf.slice(pos, tagEnd + 1));
        pos = tagEnd + 1;
        continue;
      }
      const name = tagName(buf, pos + 1, tagEnd);
      if (name === "stream:stream") {
        // The stream header stays open: hand over only its start tag.
        this.#sink.parse(buf.slice(pos, tagEnd + 1));
        pos = tagEnd + 1;
        continue;
      }
      let end: number;
      if (buf.charCodeAt(tagEnd - 1) === 47) {
        end = tagEnd + 1; // self-closing
      } else {
        const close =
          name === "message" ? buf.indexOf(MESSAGE_CLOSE, tagEnd) : buf.indexOf(`</${name}>`, tagEnd);
        if (close === -1) break;
        end = close + name.length + 3;
      }
      if (name !== "message" || !this.#tryGcm(buf, pos, tagEnd, end)) this.#sink.parse(buf.slice(pos, end));
      pos = end;
    }
    this.#buf = pos === 0 ? buf : buf.slice(pos);
    if (this.#buf.length > this.#maxPendingChars) {
      const size = this.#buf.length;
      this.#buf = "";
      throw new RangeError(`incoming stanza exceeds ${this.#maxPendingChars} characters (${size} buffered)`);
    }
  }

  #toPassthrough(rest: string): void {
    this.#passthrough = true;
    this.#buf = "";
    this.#sink.parse(rest);
  }

  /** Decodes `<message ...><gcm xmlns="google:mobile:data">TEXT</gcm></message>`; false for any other shape. */
  #tryGcm(buf: string, start: number, tagEnd: number, end: number): boolean {
    const bodyStart = tagEnd + 1;
    if (!buf.startsWith(GCM_OPEN, bodyStart) || !buf.startsWith(GCM_CLOSE, end - GCM_CLOSE.length))
      return false;
    const startTag = buf.slice(start, tagEnd);
    if (startTag.includes("type=")) {
      // Only type="error" needs the parser (stanza errors); other types (e.g. "normal") are fine.
      if (/\stype\s*=\s*["']error["']/.test(startTag)) return false;
    }
    const textStart = bodyStart + GCM_OPEN.length;
    const textEnd = end - GCM_CLOSE.length;
    const raw = buf.slice(textStart, textEnd);
    if (raw.includes("<")) return false;
    this.#sink.gcm(raw.includes("&") ? unescapeXmlText(raw) : raw);
    return true;
  }
}

/** Index of the '>' closing the tag that starts at `pos` (quotes respected), or -1 when incomplete. */
function findTagEnd(buf: string, pos: number): number {
  let quote = 0;
  for (let i = pos + 1; i < buf.length; i++) {
    const c = buf.charCodeAt(i);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 34 || c === 39) {
      quote = c;
    } else if (c === 62) {
      return i;
    }
  }
  return -1;
}

function tagName(buf: string, from: number, tagEnd: number): string {
  let i = from;
  while (i < tagEnd) {
    const c = buf.charCodeAt(i);
    if (c === 32 || c === 47 || c === 10 || c === 13 || c === 9) break;
    i++;
  }
  return buf.slice(from, i);
}

const ENTITY = /&(?:(amp|lt|gt|quot|apos)|#(\d+)|#x([0-9a-fA-F]+));/g;
const NAMED: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Decodes the five XML entities and character references. */
export function unescapeXmlText(s: string): string {
  return s.replace(
    ENTITY,
    (match, named: string | undefined, dec: string | undefined, hex: string | undefined) => {
      if (named !== undefined) return NAMED[named] ?? match;
      const code = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex ?? "", 16);
      return Number.isInteger(code) && code >= 0 && code <= 0x10ffff ? String.fromCodePoint(code) : match;
    },
  );
}
