/**
 * Byte-level guard in front of the XML parser. It frames the stream into top-level units
 * (the stream header, each stanza, the closing tag), counts each unit's bytes, and rejects
 * what an XMPP stream must not carry (RFC 6120 §11.1: DOCTYPE and other markup declarations,
 * comments, processing instructions except one leading XML declaration, text outside stanzas)
 * before any of it reaches the parser, so no parser buffer grows past the limits.
 *
 * It works on bytes: every byte it looks for is ASCII, and UTF-8 never uses ASCII bytes inside a
 * multi-byte character, so unit boundaries never split a character and sizes are exact UTF-8 bytes.
 * Element names are not matched here (the parser does it); attribute syntax is checked strictly.
 */
import {
  type CcsStreamError,
  StanzaTooDeepError,
  StanzaTooLargeError,
  UnsafeXmlConstruct,
  UnsafeXmlError,
  XmlSyntaxError,
} from "./errors.ts";

const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const BANG = 0x21;
const QMARK = 0x3f;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const EQ = 0x3d;
const AMP = 0x26;
const RBRACKET = 0x5d;

// States.
const S_BETWEEN = 0; // depth 0/1, between units: whitespace only
const S_CONTENT = 1; // character data inside a stanza
const S_LT = 2;
const S_START_NAME = 3;
const S_TAG_WS = 4;
const S_ATTR_NAME = 5;
const S_ATTR_EQ = 6;
const S_ATTR_QUOTE = 7;
const S_ATTR_VALUE = 8;
const S_AFTER_VALUE = 9;
const S_SELF_CLOSE = 10;
const S_END_NAME = 11;
const S_END_WS = 12;
const S_BANG = 13;
const S_CDATA = 14;
const S_PI_TARGET = 15;
const S_PI_BODY = 16;
const S_ENDED = 17;
const S_FAILED = 18;

const CDATA_OPEN = [0x5b, 0x43, 0x44, 0x41, 0x54, 0x41, 0x5b]; // "[CDATA["
const XML_TARGET = [0x78, 0x6d, 0x6c]; // "xml"
const BOM = [0xef, 0xbb, 0xbf];

/** `scan` return values other than a boundary index. */
export const SCAN_MORE = -1;
export const SCAN_ERROR = -2;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d;
}

/** Bytes that may not appear in an element or attribute name (beyond whitespace). */
function isNameStop(b: number): boolean {
  return (
    b === LT || b === GT || b === DQUOTE || b === SQUOTE || b === EQ || b === SLASH || b === AMP || b < 0x20
  );
}

/**
 * Bytes that may not appear in an element name. `!` and `?` are not XML name characters, and the
 * parser would take one inside a tag name as the start of a comment or processing instruction and
 * silently skip whatever follows (later stanzas included) while this guard saw the unit end.
 */
function isElementNameStop(b: number): boolean {
  return isNameStop(b) || b === BANG || b === QMARK;
}

export interface ScannerLimits {
  readonly maxUnitBytes: number;
  /** Elements allowed inside one stanza, the stanza itself included. */
  readonly maxDepth: number;
}

export class StreamScanner {
  readonly #limits: ScannerLimits;
  #state = S_BETWEEN;
  /** Open elements: 0 before the stream header, 1 inside the stream, 2+ inside a stanza. */
  #depth = 0;
  /** Absolute offset of the current unit's `<`, or -1 between units. */
  #unitStart = -1;
  #quote = 0;
  #matchIdx = 0;
  #nameLen = 0;
  #prev = 0;
  #brackets = 0;
  /** Before the stream header and before anything but whitespace: an XML declaration may come. */
  #prologue = true;
  #error: CcsStreamError | undefined;
  /** Index in the last scanned buffer where the bytes to feed to the parser start. */
  feedStart = 0;

  constructor(limits: ScannerLimits) {
    this.#limits = limits;
  }

  get error(): CcsStreamError | undefined {
    return this.#error;
  }

  /** Between stanzas of an open stream: the next `<` starts a stanza (the reader's fast path may take it). */
  get atStanzaBoundary(): boolean {
    return this.#state === S_BETWEEN && this.#depth === 1;
  }

  /** True while a unit is open, i.e. the bytes up to the end of the buffer belong to the parser. */
  get inUnit(): boolean {
    return this.#unitStart >= 0;
  }

  /**
   * Scan `buf` from `start`; `base` is the absolute offset of `buf[0]`.
   * Returns the index just past a unit's end (feed `[feedStart, index)` then call again from it),
   * SCAN_MORE when the buffer is exhausted (if `inUnit`, feed `[feedStart, buf.length)`),
   * or SCAN_ERROR (see `error`).
   */
  scan(buf: Uint8Array, start: number, base: number): number {
    const len = buf.length;
    let i = start;
    this.feedStart = this.#unitStart >= 0 ? start : len;
    for (; i < len; i++) {
      const b = buf[i] as number;
      switch (this.#state) {
        case S_BETWEEN:
          if (isSpace(b)) continue;
          if (b === LT) {
            this.#unitStart = base + i;
            this.feedStart = i;
            this.#state = S_LT;
            continue;
          }
          if (this.#prologue && this.#depth === 0 && base + i < 3 && b === BOM[base + i]) continue;
          return this.#fail(new XmlSyntaxError("text outside a stanza", base + i));
        case S_CONTENT: {
          const lt = buf.indexOf(LT, i);
          if (lt === -1) {
            i = len;
            break;
          }
          i = lt;
          if (base + i - this.#unitStart >= this.#limits.maxUnitBytes) return this.#tooLarge(base + i);
          this.#state = S_LT;
          continue;
        }
        case S_LT:
          if (b === SLASH) {
            if (this.#depth === 0)
              return this.#fail(new XmlSyntaxError("end tag before the stream header", base + i));
            this.#nameLen = 0;
            this.#state = S_END_NAME;
          } else if (b === BANG) {
            this.#matchIdx = 0;
            this.#state = S_BANG;
          } else if (b === QMARK) {
            if (!(this.#prologue && this.#depth === 0)) {
              return this.#fail(new UnsafeXmlError(UnsafeXmlConstruct.ProcessingInstruction, base + i));
            }
            this.#matchIdx = 0;
            this.#state = S_PI_TARGET;
          } else if (isSpace(b) || isNameStop(b)) {
            return this.#fail(new XmlSyntaxError("invalid character after '<'", base + i));
          } else {
            this.#prologue = false;
            this.#state = S_START_NAME;
          }
          continue;
        case S_START_NAME:
          if (isSpace(b)) this.#state = S_TAG_WS;
          else if (b === SLASH) this.#state = S_SELF_CLOSE;
          else if (b === GT) {
            const r = this.#open(false, i, base);
            if (r !== SCAN_MORE) return r;
          } else if (isElementNameStop(b))
            return this.#fail(new XmlSyntaxError("invalid character in element name", base + i));
          continue;
        case S_TAG_WS:
          if (isSpace(b)) continue;
          if (b === SLASH) this.#state = S_SELF_CLOSE;
          else if (b === GT) {
            const r = this.#open(false, i, base);
            if (r !== SCAN_MORE) return r;
          } else if (isNameStop(b))
            return this.#fail(new XmlSyntaxError("invalid character in tag", base + i));
          else this.#state = S_ATTR_NAME;
          continue;
        case S_ATTR_NAME:
          if (isSpace(b)) this.#state = S_ATTR_EQ;
          else if (b === EQ) this.#state = S_ATTR_QUOTE;
          else if (isNameStop(b))
            return this.#fail(new XmlSyntaxError("invalid character in attribute name", base + i));
          continue;
        case S_ATTR_EQ:
          if (isSpace(b)) continue;
          if (b !== EQ) return this.#fail(new XmlSyntaxError("attribute without '='", base + i));
          this.#state = S_ATTR_QUOTE;
          continue;
        case S_ATTR_QUOTE:
          if (isSpace(b)) continue;
          if (b !== DQUOTE && b !== SQUOTE)
            return this.#fail(new XmlSyntaxError("unquoted attribute value", base + i));
          this.#quote = b;
          this.#state = S_ATTR_VALUE;
          continue;
        case S_ATTR_VALUE:
          if (b === this.#quote) this.#state = S_AFTER_VALUE;
          else if (b === LT) return this.#fail(new XmlSyntaxError("'<' in attribute value", base + i));
          continue;
        case S_AFTER_VALUE:
          if (isSpace(b)) this.#state = S_TAG_WS;
          else if (b === SLASH) this.#state = S_SELF_CLOSE;
          else if (b === GT) {
            const r = this.#open(false, i, base);
            if (r !== SCAN_MORE) return r;
          } else return this.#fail(new XmlSyntaxError("missing whitespace between attributes", base + i));
          continue;
        case S_SELF_CLOSE: {
          if (b !== GT) return this.#fail(new XmlSyntaxError("expected '>' after '/'", base + i));
          const r = this.#open(true, i, base);
          if (r !== SCAN_MORE) return r;
          continue;
        }
        case S_END_NAME:
          if (b === GT || isSpace(b)) {
            if (this.#nameLen === 0) return this.#fail(new XmlSyntaxError("empty end tag", base + i));
            if (b === GT) {
              const r = this.#close(i, base);
              if (r !== SCAN_MORE) return r;
            } else this.#state = S_END_WS;
          } else if (isElementNameStop(b))
            return this.#fail(new XmlSyntaxError("invalid character in end tag", base + i));
          else this.#nameLen++;
          continue;
        case S_END_WS:
          if (isSpace(b)) continue;
          if (b !== GT) return this.#fail(new XmlSyntaxError("invalid character in end tag", base + i));
          {
            const r = this.#close(i, base);
            if (r !== SCAN_MORE) return r;
          }
          continue;
        case S_BANG:
          if (b === CDATA_OPEN[this.#matchIdx]) {
            this.#matchIdx++;
            if (this.#matchIdx === CDATA_OPEN.length) {
              if (this.#depth < 2) return this.#fail(new XmlSyntaxError("CDATA outside a stanza", base + i));
              this.#brackets = 0;
              this.#state = S_CDATA;
            }
            continue;
          }
          if (this.#matchIdx === 0 && b === 0x2d /* - */) {
            return this.#fail(new UnsafeXmlError(UnsafeXmlConstruct.Comment, base + i));
          }
          if (this.#matchIdx === 0 && b === 0x44 /* D */) {
            return this.#fail(new UnsafeXmlError(UnsafeXmlConstruct.Doctype, base + i));
          }
          return this.#fail(new UnsafeXmlError(UnsafeXmlConstruct.MarkupDeclaration, base + i));
        case S_CDATA:
          if (b === RBRACKET) this.#brackets++;
          else if (b === GT && this.#brackets >= 2) this.#state = S_CONTENT;
          else {
            this.#brackets = 0;
            const rb = buf.indexOf(RBRACKET, i);
            i = (rb === -1 ? len : rb) - 1;
          }
          continue;
        case S_PI_TARGET:
          if (this.#matchIdx < XML_TARGET.length) {
            if (b !== XML_TARGET[this.#matchIdx]) {
              return this.#fail(new UnsafeXmlError(UnsafeXmlConstruct.ProcessingInstruction, base + i));
            }
            this.#matchIdx++;
          } else if (isSpace(b)) {
            this.#prev = 0;
            this.#state = S_PI_BODY;
          } else return this.#fail(new UnsafeXmlError(UnsafeXmlConstruct.ProcessingInstruction, base + i));
          continue;
        case S_PI_BODY:
          if (b === GT && this.#prev === QMARK) {
            this.#prologue = false;
            this.#unitStart = -1;
            this.#state = S_BETWEEN;
            return i + 1;
          }
          if (b === LT) return this.#fail(new XmlSyntaxError("'<' in XML declaration", base + i));
          this.#prev = b;
          continue;
        case S_ENDED:
          if (isSpace(b)) continue;
          return this.#fail(new XmlSyntaxError("content after the end of the stream", base + i));
        default:
          return SCAN_ERROR;
      }
    }
    if (this.#unitStart >= 0 && base + len - this.#unitStart > this.#limits.maxUnitBytes) {
      return this.#tooLarge(base + len);
    }
    return SCAN_MORE;
  }

  /** End of a start tag at index `i`. */
  #open(selfClosing: boolean, i: number, base: number): number {
    if (base + i + 1 - this.#unitStart > this.#limits.maxUnitBytes) return this.#tooLarge(base + i);
    if (this.#depth === 0) {
      // The stream header: a unit on its own.
      this.#unitStart = -1;
      if (selfClosing) this.#state = S_ENDED;
      else {
        this.#depth = 1;
        this.#state = S_BETWEEN;
      }
      return i + 1;
    }
    if (selfClosing) {
      if (this.#depth === 1) return this.#endUnit(i);
      this.#state = S_CONTENT;
      return SCAN_MORE;
    }
    this.#depth++;
    if (this.#depth - 1 > this.#limits.maxDepth) {
      return this.#fail(new StanzaTooDeepError(this.#limits.maxDepth, base + i));
    }
    this.#state = S_CONTENT;
    return SCAN_MORE;
  }

  /** End of an end tag at index `i`. */
  #close(i: number, base: number): number {
    if (base + i + 1 - this.#unitStart > this.#limits.maxUnitBytes) return this.#tooLarge(base + i);
    this.#depth--;
    if (this.#depth === 1) return this.#endUnit(i);
    if (this.#depth === 0) {
      this.#unitStart = -1;
      this.#state = S_ENDED;
      return i + 1;
    }
    this.#state = S_CONTENT;
    return SCAN_MORE;
  }

  #endUnit(i: number): number {
    this.#unitStart = -1;
    this.#state = S_BETWEEN;
    return i + 1;
  }

  #tooLarge(offset: number): number {
    return this.#fail(new StanzaTooLargeError(this.#limits.maxUnitBytes, offset));
  }

  #fail(error: CcsStreamError): number {
    this.#error = error;
    this.#state = S_FAILED;
    return SCAN_ERROR;
  }
}
