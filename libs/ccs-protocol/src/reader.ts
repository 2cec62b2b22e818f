/**
 * Streaming reader of an XMPP stream (either direction). Complete stanzas of the common
 * `<message><gcm>` shape are matched and built directly (FastStanzaPath); everything else goes
 * through @xmpp/xml's parser behind a byte-level guard (StreamScanner) that bounds every stanza
 * and rejects restricted XML.
 */
import { EventEmitter } from "node:events";
import { TextDecoder } from "node:util";
import { type CcsStreamError, InvalidOptionError, InvalidUtf8Error, XmlSyntaxError } from "./errors.ts";
import { ChunkView, FastStanzaPath } from "./fast-path.ts";
import { SCAN_ERROR, SCAN_MORE, StreamScanner } from "./stream-scanner.ts";
import { type Element, Parser } from "./xml.ts";

/** Default limit of one stanza (and of the stream header), UTF-8 bytes. */
export const DEFAULT_MAX_STANZA_BYTES = 64 * 1024;
/** Largest `maxStanzaBytes` accepted. */
export const MAX_STANZA_BYTES_CEILING = 16 * 1024 * 1024;
/** Default limit of element nesting inside one stanza (the stanza element counts as 1). */
export const DEFAULT_MAX_STANZA_DEPTH = 32;
export const MAX_STANZA_DEPTH_CEILING = 1024;

export interface StanzaReaderOptions {
  /** Largest stanza (or stream header) in UTF-8 bytes. Default DEFAULT_MAX_STANZA_BYTES (64 KiB). */
  maxStanzaBytes?: number;
  /** Deepest element nesting inside a stanza. Default DEFAULT_MAX_STANZA_DEPTH (32). */
  maxDepth?: number;
  /**
   * Build complete `<message><gcm>` stanzas directly instead of through the parser. Default true.
   * Output, limits and errors are the same either way; false is for differential tests and debugging.
   */
  fastPath?: boolean;
}

interface ResolvedReaderOptions {
  readonly maxStanzaBytes: number;
  readonly maxDepth: number;
  readonly fastPath: boolean;
}

function resolveOptions(options: StanzaReaderOptions | undefined): ResolvedReaderOptions {
  const maxStanzaBytes = options?.maxStanzaBytes ?? DEFAULT_MAX_STANZA_BYTES;
  const maxDepth = options?.maxDepth ?? DEFAULT_MAX_STANZA_DEPTH;
  if (
    !Number.isSafeInteger(maxStanzaBytes) ||
    maxStanzaBytes < 64 ||
    maxStanzaBytes > MAX_STANZA_BYTES_CEILING
  ) {
    throw new InvalidOptionError(
      "maxStanzaBytes",
      `must be an integer from 64 to ${MAX_STANZA_BYTES_CEILING}`,
    );
  }
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 1 || maxDepth > MAX_STANZA_DEPTH_CEILING) {
    throw new InvalidOptionError("maxDepth", `must be an integer from 1 to ${MAX_STANZA_DEPTH_CEILING}`);
  }
  return { maxStanzaBytes, maxDepth, fastPath: options?.fastPath ?? true };
}

/**
 * Lifecycle: `awaiting-stream` -> `open` (stream header read) -> `ended` (closing tag read);
 * any fault -> `failed` (terminal until `reset()`).
 */
export type StanzaReaderState = "awaiting-stream" | "open" | "ended" | "failed";

export interface StanzaReaderEvents {
  /** The stream header; `root` is the header element (its attributes hold the namespaces). */
  streamStart: [attrs: Record<string, string>, root: Element];
  /** One complete top-level element (stanza, features, SASL element...). */
  stanza: [el: Element];
  streamEnd: [];
  /** Fatal: the reader stops reading. */
  error: [err: CcsStreamError];
}

type ParserEvent =
  | { type: "start"; el: Element }
  | { type: "stanza"; el: Element }
  | { type: "end" }
  | { type: "error"; err: Error };

/** Resolves chunk events so a listener exception can't leave the parser half-way through a write. */
interface Session {
  readonly scanner: StreamScanner;
  readonly parser: Parser;
  readonly decoder: TextDecoder;
  readonly events: ParserEvent[];
  /** The stream header element once dispatched: parent of every stanza. */
  root: Element | undefined;
}

function toBuffer(chunk: Uint8Array | string): Buffer {
  if (typeof chunk === "string") return Buffer.from(chunk, "utf8");
  if (Buffer.isBuffer(chunk)) return chunk;
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Feed it the bytes of a socket: `write(chunk)` never throws for bad input; a fault is emitted
 * as one `error` event with a typed CcsStreamError (StanzaTooLargeError, StanzaTooDeepError,
 * UnsafeXmlError, XmlSyntaxError, InvalidUtf8Error) and the reader stops. Without an `error`
 * listener the fault is only kept in `error` (never thrown). Whitespace keepalives between
 * stanzas are skipped without being buffered. Events are emitted outside the parser: if a listener
 * throws, the rest of the chunk is still read and the first exception is rethrown from `write`.
 */
export class StanzaReader extends EventEmitter<StanzaReaderEvents> {
  readonly #options: ResolvedReaderOptions;
  #session: Session;
  #state: StanzaReaderState = "awaiting-stream";
  #error: CcsStreamError | undefined;
  /** Absolute offset (since the last reset) of the chunk being read. */
  #base = 0;
  readonly #inbox: Buffer[] = [];
  #reading = false;
  /** Undefined when the limits rule it out (maxDepth 1: the common shape is 2 deep). */
  readonly #fast: FastStanzaPath | undefined;
  /** The start of a common-shape stanza cut by the end of the last chunk (at most MAX_CARRY_BYTES, ASCII). */
  #carry: Buffer | undefined;

  constructor(options?: StanzaReaderOptions) {
    super();
    this.#options = resolveOptions(options);
    this.#session = this.#newSession();
    const { fastPath, maxDepth, maxStanzaBytes } = this.#options;
    this.#fast = fastPath && maxDepth >= 2 ? new FastStanzaPath(maxStanzaBytes) : undefined;
  }

  get state(): StanzaReaderState {
    return this.#state;
  }

  /** The fault that stopped the reader, if any. */
  get error(): CcsStreamError | undefined {
    return this.#error;
  }

  /** Start over for a new stream on the same connection (XMPP stream restart after SASL success). */
  reset(): void {
    this.#session = this.#newSession();
    this.#state = "awaiting-stream";
    this.#error = undefined;
    this.#base = 0;
    this.#carry = undefined;
  }

  write(chunk: Uint8Array | string): void {
    const first = toBuffer(chunk);
    if (this.#reading) {
      this.#inbox.push(first); // re-entrant write from a listener: read after the current chunk
      return;
    }
    this.#reading = true;
    let listenerError: { err: unknown } | undefined;
    try {
      for (let buf: Buffer | undefined = first; buf !== undefined; buf = this.#inbox.shift()) {
        const thrown = this.#read(buf);
        if (thrown !== undefined && listenerError === undefined) listenerError = thrown;
      }
    } finally {
      this.#reading = false;
    }
    if (listenerError !== undefined) throw listenerError.err;
  }

  #newSession(): Session {
    const scanner = new StreamScanner({
      maxUnitBytes: this.#options.maxStanzaBytes,
      maxDepth: this.#options.maxDepth,
    });
    const parser = new Parser();
    const events: ParserEvent[] = [];
    parser.on("start", (el: Element) => events.push({ type: "start", el }));
    parser.on("element", (el: Element) => events.push({ type: "stanza", el }));
    parser.on("end", () => events.push({ type: "end" }));
    parser.on("error", (err: Error) => events.push({ type: "error", err }));
    const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    return { scanner, parser, decoder, events, root: undefined };
  }

  /** Read one chunk; returns the first listener exception, if any. */
  #read(chunk: Buffer): { err: unknown } | undefined {
    const carry = this.#carry;
    if (carry === undefined) return this.#scan(chunk, true);
    // `#base` is already the offset of the carried bytes.
    this.#carry = undefined;
    const buf = Buffer.concat([carry, chunk]);
    const root = this.#session.root;
    const fast = this.#fast;
    if (fast !== undefined && root !== undefined) {
      const view = new ChunkView(buf);
      if (fast.stanzaAt(view, 0, root) !== undefined || fast.mayCarry(view, 0)) {
        return this.#scan(buf, true, view);
      }
    }
    // The full path takes the cut stanza in the chunks it came in, as if it had never been carried
    // (the same pieces reach the decoder and parser, so errors and their offsets are the same).
    const thrown = this.#scan(carry, false);
    const later = this.#scan(chunk, true);
    return thrown ?? later;
  }

  /** Read one buffer from its start (at `#base`); `carry`: a cut common-shape stanza at its end may wait for more. */
  #scan(buf: Buffer, carry: boolean, bufView?: ChunkView): { err: unknown } | undefined {
    let listenerError: { err: unknown } | undefined;
    let pos = 0;
    let view = bufView;
    const fast = this.#fast;
    while (pos < buf.length && this.#state !== "failed") {
      const session = this.#session;
      if (fast !== undefined && session.root !== undefined && session.scanner.atStanzaBoundary) {
        view ??= new ChunkView(buf);
        const at = fast.skipSpace(view, pos);
        if (at === buf.length) break;
        const el = fast.stanzaAt(view, at, session.root);
        if (el !== undefined) {
          pos = fast.end;
          try {
            this.emit("stanza", el);
          } catch (err) {
            if (listenerError === undefined) listenerError = { err };
          }
          // reset() from a listener: the rest of the chunk belongs to the new stream.
          if (this.#session !== session) this.#base = -pos;
          continue;
        }
        if (carry && fast.mayCarry(view, at)) {
          this.#carry = Buffer.from(buf.subarray(at)); // a copy: the caller may reuse its buffer
          this.#base += at;
          return listenerError;
        }
        pos = at; // not the common shape, or cut and not carried: the full path reads it
      }
      const base = this.#base;
      const end = session.scanner.scan(buf, pos, base);
      if (end === SCAN_ERROR) {
        const fault = session.scanner.error ?? new XmlSyntaxError("stream reader failed", base + pos);
        const prior = this.#fail(fault);
        return listenerError ?? prior;
      }
      const feedEnd = end === SCAN_MORE ? buf.length : end;
      if (end !== SCAN_MORE || session.scanner.inUnit) {
        const fed = this.#feed(session, buf, session.scanner.feedStart, feedEnd, base);
        if (!fed) return listenerError;
        const thrown = this.#dispatch(session, base + feedEnd);
        if (thrown !== undefined && listenerError === undefined) listenerError = thrown;
      }
      // reset() from a listener: the rest of the chunk belongs to the new stream.
      if (this.#session !== session) this.#base = -feedEnd;
      if (end === SCAN_MORE) break;
      pos = end;
    }
    this.#base += buf.length;
    return listenerError;
  }

  #feed(session: Session, buf: Uint8Array, start: number, end: number, base: number): boolean {
    if (end <= start) return true;
    let text: string;
    try {
      text = session.decoder.decode(buf.subarray(start, end), { stream: true });
    } catch (cause) {
      this.#fail(new InvalidUtf8Error("invalid UTF-8", base + start, { cause }));
      return false;
    }
    try {
      session.parser.write(text);
    } catch (cause) {
      // ltx throws on an undefined entity or an illegal character reference.
      const detail = cause instanceof Error ? cause.message : String(cause);
      this.#fail(new XmlSyntaxError(`XML syntax error: ${detail}`, base + end, { cause }));
      return false;
    }
    return true;
  }

  /** Emit what the parser produced for the bytes just fed. */
  #dispatch(session: Session, offset: number): { err: unknown } | undefined {
    const events = session.events;
    let listenerError: { err: unknown } | undefined;
    for (let k = 0; k < events.length; k++) {
      if (this.#session !== session || this.#state === "failed") break;
      const ev = events[k] as ParserEvent;
      try {
        switch (ev.type) {
          case "start":
            session.root = ev.el;
            this.#state = "open";
            this.emit("streamStart", ev.el.attrs, ev.el);
            break;
          case "stanza":
            this.emit("stanza", ev.el);
            break;
          case "end":
            this.#state = "ended";
            this.emit("streamEnd");
            break;
          case "error": {
            const thrown = this.#fail(
              new XmlSyntaxError(`XML syntax error: ${ev.err.message}`, offset, { cause: ev.err }),
            );
            if (thrown !== undefined && listenerError === undefined) listenerError = thrown;
            break;
          }
        }
      } catch (err) {
        if (listenerError === undefined) listenerError = { err };
      }
    }
    events.length = 0;
    return listenerError;
  }

  #fail(err: CcsStreamError): { err: unknown } | undefined {
    if (this.#state === "failed") return undefined;
    this.#state = "failed";
    this.#error = err;
    if (this.listenerCount("error") === 0) return undefined;
    try {
      this.emit("error", err);
    } catch (thrown) {
      return { err: thrown };
    }
    return undefined;
  }
}
