/**
 * The reader's fast path over one chunk of bytes: a latin1 view of the chunk (one character per
 * byte, so string indices are byte offsets and sizes are exact UTF-8 bytes) in which
 * GcmStanzaMatcher frames complete stanzas. Pure-ASCII stanzas are built from the view directly;
 * others are checked and decoded as UTF-8 first. Anything else is left to the full path.
 * A common-shape stanza cut by the end of the chunk may be carried over to the next chunk
 * (`mayCarry`) instead of going to the full path, when its bytes so far are few and plain ASCII.
 */
import { isAscii } from "node:buffer";
import { TextDecoder } from "node:util";
import { GcmStanzaMatcher } from "./fast-stanza.ts";

/**
 * Most bytes of a cut stanza carried to the next chunk (never more than maxStanzaBytes). Each
 * later chunk is copied behind the carry, so this also bounds the copying per write.
 */
export const MAX_CARRY_BYTES = 4096;

import type { Element } from "./xml.ts";

/** A chunk and its latin1 text, made once per chunk. */
export class ChunkView {
  readonly bytes: Buffer;
  readonly text: string;
  /** The whole chunk is ASCII: its latin1 text is its UTF-8 text. */
  readonly ascii: boolean;

  constructor(bytes: Buffer) {
    this.bytes = bytes;
    this.text = bytes.toString("latin1");
    this.ascii = isAscii(bytes);
  }
}

export class FastStanzaPath {
  readonly #maxBytes: number;
  readonly #maxCarry: number;
  readonly #matcher = new GcmStanzaMatcher();
  /** Non-streaming, so it holds no state between stanzas. */
  readonly #utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  /** Byte index just past the stanza returned by the last `stanzaAt`. */
  end = 0;
  /** After `stanzaAt` returned undefined: the chunk ended inside what fits the shape so far. */
  incomplete = false;

  constructor(maxStanzaBytes: number) {
    this.#maxBytes = maxStanzaBytes;
    this.#maxCarry = Math.min(MAX_CARRY_BYTES, maxStanzaBytes);
  }

  /**
   * May the bytes from `at` (a stanza cut by the end of the chunk: `incomplete` after `stanzaAt`) wait
   * for the next chunk instead of going to the full path? Only a few plain ASCII bytes: then nothing in
   * them is something the full path would report now (invalid UTF-8, over the limit, a syntax error).
   */
  mayCarry(view: ChunkView, at: number): boolean {
    return (
      this.incomplete &&
      view.bytes.length - at <= this.#maxCarry &&
      (view.ascii || isAscii(view.bytes.subarray(at)))
    );
  }

  /** Index of the first non-whitespace byte at or after `pos` (the chunk's length if none). */
  skipSpace(view: ChunkView, pos: number): number {
    const s = view.text;
    let i = pos;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x09 && c !== 0x0d) break;
    }
    return i;
  }

  /** The common-shape stanza starting at byte `at`, complete in this chunk and within the limit; else undefined. */
  stanzaAt(view: ChunkView, at: number, root: Element): Element | undefined {
    const matcher = this.#matcher;
    const el = matcher.match(view.text, at, root);
    if (el === undefined) {
      this.incomplete = matcher.incomplete;
      return undefined;
    }
    this.incomplete = false;
    const end = matcher.end;
    if (end - at > this.#maxBytes) return undefined;
    this.end = end;
    if (view.ascii) return el;
    const bytes = view.bytes.subarray(at, end);
    if (isAscii(bytes)) return el;
    // Non-ASCII: decode strictly (invalid UTF-8 is the full path's to report), then build from the text.
    let text: string;
    try {
      text = this.#utf8.decode(bytes);
    } catch {
      return undefined;
    }
    const utf8El = matcher.match(text, 0, root);
    if (utf8El === undefined || matcher.end !== text.length) return undefined;
    return utf8El;
  }
}
