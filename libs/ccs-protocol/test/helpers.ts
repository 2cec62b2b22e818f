import {
  type CcsStreamError,
  type Element,
  NS_CLIENT,
  NS_STREAM,
  StanzaReader,
  type StanzaReaderOptions,
} from "../src/index.ts";

export const STREAM_OPEN = `<stream:stream from="gcm.googleapis.com" id="S1" version="1.0" xmlns="${NS_CLIENT}" xmlns:stream="${NS_STREAM}">`;
export const STREAM_CLOSE = "</stream:stream>";

export interface Collected {
  reader: StanzaReader;
  starts: Record<string, string>[];
  stanzas: Element[];
  ends: number;
  errors: CcsStreamError[];
}

export function collectingReader(options?: StanzaReaderOptions): Collected {
  const reader = new StanzaReader(options);
  const c: Collected = { reader, starts: [], stanzas: [], ends: 0, errors: [] };
  reader.on("streamStart", (attrs) => c.starts.push(attrs));
  reader.on("stanza", (el) => c.stanzas.push(el));
  reader.on("streamEnd", () => {
    c.ends++;
  });
  reader.on("error", (err) => c.errors.push(err));
  return c;
}

/** Write `bytes` split at the given cut points. */
export function writeSplit(reader: StanzaReader, bytes: Uint8Array, cuts: readonly number[]): void {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  let prev = 0;
  for (const p of points) {
    reader.write(bytes.subarray(prev, p));
    prev = p;
  }
  reader.write(bytes.subarray(prev));
}

export function readStream(body: string, options?: StanzaReaderOptions, chunkSize?: number): Collected {
  const c = collectingReader(options);
  const bytes = Buffer.from(STREAM_OPEN + body + STREAM_CLOSE, "utf8");
  if (chunkSize === undefined) c.reader.write(bytes);
  else for (let i = 0; i < bytes.length; i += chunkSize) c.reader.write(bytes.subarray(i, i + chunkSize));
  return c;
}

/** The text between the payload element's tags, as printed (still escaped). */
export const GCM_BODY_RE = /(<(?:data:)?gcm\b[^>]*>)([\s\S]*?)(<\/(?:data:)?gcm>)/;
