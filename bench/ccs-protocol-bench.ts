/**
 * ccs-protocol benchmark: stanza reading and writing, each against a naive baseline in the same run.
 * Run: node bench/ccs-protocol-bench.ts   (Node 24; ~25-35 s)
 * Not a test: figures go to docs/benchmarks.md.
 */
import { once } from "node:events";
import { connect, createServer, type Socket } from "node:net";
import { StringDecoder } from "node:string_decoder";
import {
  ackStanza,
  type DownstreamRequest,
  downstreamStanza,
  gcmPayloadOf,
  NS_CLIENT,
  NS_STREAM,
  parseServerPayload,
  StanzaBatchWriter,
  StanzaReader,
} from "@ccs/ccs-protocol";
import { Parser } from "@xmpp/xml";

const READ_N = 200_000;
const WRITE_N = 200_000;
const TCP_N = 100_000;
const ROUNDS = 5;
const CHUNK = 64 * 1024;
/** Stanzas produced per event-loop turn when writing (a burst answering one socket read). */
const BURST = 100;

const STREAM_OPEN = `<stream:stream from="gcm.googleapis.com" id="B" version="1.0" xmlns="${NS_CLIENT}" xmlns:stream="${NS_STREAM}">`;

function chunksOf(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += CHUNK) out.push(buf.subarray(i, i + CHUNK));
  return out;
}

const ackChunks = chunksOf(
  Buffer.from(
    STREAM_OPEN +
      Array.from({ length: READ_N }, (_, i) =>
        ackStanza("APA91bHFOtaQGSwupt5l1og-device-token", `m-${i}`),
      ).join(""),
  ),
);

// ---- reading ----

function readOurs(fastPath = true): number {
  let n = 0;
  const reader = new StanzaReader({ fastPath });
  reader.on("stanza", (el) => {
    const json = gcmPayloadOf(el);
    if (json !== undefined && parseServerPayload(json).kind === "ack") n++;
  });
  reader.on("error", (err) => {
    throw err;
  });
  for (const c of ackChunks) reader.write(c);
  return n;
}

/** @xmpp/xml's Parser alone (no guard, no typed payloads): what the guard costs. */
function readBareParser(): number {
  let n = 0;
  const decoder = new StringDecoder("utf8");
  const parser = new Parser();
  parser.on("element", (el: { getChild(n: string, ns: string): { getText(): string } | undefined }) => {
    const json = el.getChild("gcm", "google:mobile:data")?.getText();
    if (json !== undefined && (JSON.parse(json) as { message_type?: string }).message_type === "ack") n++;
  });
  for (const c of ackChunks) parser.write(decoder.write(c));
  return n;
}

/** Naive: string buffer, indexOf framing on `</message>`, regex for the body, entity replace, JSON.parse. */
function readNaive(): number {
  let n = 0;
  let pending = "";
  const decoder = new StringDecoder("utf8");
  const body = /<gcm[^>]*>([\s\S]*)<\/gcm>/;
  for (const c of ackChunks) {
    pending += decoder.write(c);
    let from = 0;
    for (;;) {
      const end = pending.indexOf("</message>", from);
      if (end === -1) break;
      const stanza = pending.slice(from, end);
      from = end + 10;
      const m = body.exec(stanza);
      if (m?.[1] === undefined) continue;
      const json = m[1]
        .replace(/&quot;/g, '"')
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&amp;/g, "&");
      if ((JSON.parse(json) as { message_type?: string }).message_type === "ack") n++;
    }
    pending = pending.slice(from);
  }
  return n;
}

// ---- writing ----

const requests: DownstreamRequest[] = Array.from({ length: WRITE_N }, (_, i) => ({
  to: "APA91bHFOtaQGSwupt5l1og-device-token",
  message_id: `m-${i}`,
  data: { hello: "world", n: String(i) },
  time_to_live: 600,
}));

/** In-memory sink that pays what a socket pays per write call: encoding the string to bytes. */
class CountingSink {
  writes = 0;
  bytes = 0;
  write(chunk: string): boolean {
    this.writes++;
    this.bytes += Buffer.from(chunk, "utf8").length;
    return true;
  }
}

function writeOurs(sink: CountingSink): number {
  const writer = new StanzaBatchWriter(sink, { schedule: () => {} });
  for (let i = 0; i < WRITE_N; i++) {
    writer.push(downstreamStanza(requests[i] as DownstreamRequest));
    if ((i + 1) % BURST === 0) writer.flush(); // the end-of-tick flush
  }
  writer.flush();
  return sink.writes;
}

/** Naive: string concat per message, no escaping, one write per message. */
function writeNaive(sink: CountingSink): number {
  for (let i = 0; i < WRITE_N; i++) {
    sink.write(`<message><gcm xmlns="google:mobile:data">${JSON.stringify(requests[i])}</gcm></message>`);
  }
  return sink.writes;
}

async function tcpPair(): Promise<{ client: Socket; server: Socket; close: () => void }> {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const addr = srv.address();
  if (addr === null || typeof addr === "string") throw new Error("no address");
  const accepted = once(srv, "connection");
  const client = connect(addr.port, "127.0.0.1");
  await once(client, "connect");
  const [server] = (await accepted) as [Socket];
  return {
    client,
    server,
    close: () => {
      client.destroy();
      server.destroy();
      srv.close();
    },
  };
}

/** Over loopback TCP: write TCP_N stanzas in bursts of BURST per event-loop turn, until the peer has every byte. */
async function tcpRun(batched: boolean): Promise<number> {
  const { client, server, close } = await tcpPair();
  let expected = 0;
  const stanzas = requests.slice(0, TCP_N).map((r) => downstreamStanza(r));
  for (const s of stanzas) expected += Buffer.byteLength(s);
  let received = 0;
  const done = new Promise<void>((resolve) => {
    server.on("data", (d: Buffer) => {
      received += d.length;
      if (received >= expected) resolve();
    });
  });
  const t0 = performance.now();
  const writer = new StanzaBatchWriter(client);
  for (let i = 0; i < TCP_N; i += BURST) {
    for (let k = i; k < Math.min(i + BURST, TCP_N); k++) {
      if (batched) writer.push(stanzas[k] as string);
      else client.write(stanzas[k] as string);
    }
    if (batched) await writer.drained();
    await new Promise((r) => setImmediate(r));
  }
  await done;
  const ms = performance.now() - t0;
  close();
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function time(fn: () => number, expect: number): number {
  const t0 = performance.now();
  const n = fn();
  const ms = performance.now() - t0;
  if (n !== expect) throw new Error(`expected ${expect}, got ${n}`);
  return ms;
}

async function main(): Promise<void> {
  const results: Array<{ name: string; n: number; ms: number[] }> = [
    { name: "read: StanzaReader + parseServerPayload", n: READ_N, ms: [] },
    { name: "read: StanzaReader (fastPath: false) + parseServerPayload", n: READ_N, ms: [] },
    { name: "read: bare @xmpp/xml Parser + JSON.parse", n: READ_N, ms: [] },
    { name: "read: naive indexOf/regex + JSON.parse", n: READ_N, ms: [] },
    { name: "write: downstreamStanza + StanzaBatchWriter (in-memory sink)", n: WRITE_N, ms: [] },
    { name: "write: naive concat, one write per stanza (in-memory sink)", n: WRITE_N, ms: [] },
    { name: "write over loopback TCP: StanzaBatchWriter", n: TCP_N, ms: [] },
    { name: "write over loopback TCP: socket.write per stanza", n: TCP_N, ms: [] },
  ];
  const at = (i: number) => results[i] as { ms: number[] };
  // warm-up
  readOurs();
  readOurs(false);
  readBareParser();
  readNaive();
  writeOurs(new CountingSink());
  writeNaive(new CountingSink());
  for (let r = 0; r < ROUNDS; r++) {
    at(0).ms.push(time(readOurs, READ_N));
    at(1).ms.push(time(() => readOurs(false), READ_N));
    at(2).ms.push(time(readBareParser, READ_N));
    at(3).ms.push(time(readNaive, READ_N));
    at(4).ms.push(time(() => (writeOurs(new CountingSink()) > 0 ? WRITE_N : 0), WRITE_N));
    at(5).ms.push(time(() => writeNaive(new CountingSink()), WRITE_N));
    at(6).ms.push(await tcpRun(true));
    at(7).ms.push(await tcpRun(false));
  }
  const rate = (i: number) => {
    const x = results[i] as { n: number; ms: number[] };
    return x.n / (median(x.ms) / 1000);
  };
  const best = (i: number) => Math.min(...(results[i] as { ms: number[] }).ms);
  console.log(`node ${process.version}, ${ROUNDS} rounds, median`);
  console.log("| benchmark | stanzas | median ms | stanzas/s |");
  console.log("| --- | ---: | ---: | ---: |");
  results.forEach((x, i) => {
    console.log(
      `| ${x.name} | ${x.n} | ${median(x.ms).toFixed(1)} | ${Math.round(rate(i)).toLocaleString("en-US")} |`,
    );
  });
  console.log("");
  console.log(
    `read ratio ours/naive: ${(rate(0) / rate(3)).toFixed(2)}x; ours/bare parser: ${(rate(0) / rate(2)).toFixed(2)}x; ` +
      `fast path on/off: ${(rate(0) / rate(1)).toFixed(2)}x`,
  );
  console.log(
    `read ratio ours/naive, best round of each (less sensitive to a shared machine): ${(best(3) / best(0)).toFixed(2)}x`,
  );
  console.log(`write ratio ours/naive (in-memory): ${(rate(4) / rate(5)).toFixed(2)}x`);
  console.log(`write ratio ours/naive (loopback TCP): ${(rate(6) / rate(7)).toFixed(2)}x`);
  const s1 = new CountingSink();
  writeOurs(s1);
  const s2 = new CountingSink();
  writeNaive(s2);
  console.log(`sink writes for ${WRITE_N} stanzas: batched ${s1.writes}, naive ${s2.writes}`);
}

await main();
