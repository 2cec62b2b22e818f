// Throughput of the upstream de-duplication path on real nats-server + redis-server (loopback):
// N internal upstream records (each distinct, plus `dupFraction` redelivered copies) are queued first,
// then K de-duplicators (as K coordinator replicas) start and the time until every record is
// acknowledged is measured. Baseline in the same run: the same records drained by a plain NATS-only loop
// (consume, publish with Nats-Msg-Id awaiting the publish ack, ack; 256 in flight), without Redis.
// Usage: node services/coordinator/bench/dedupe-throughput.ts [N=20000] [K=1]
import { createKeySchema, RedisNodes, silentLogger } from "@ccs/cluster";
import { createSubjects, UpstreamHeaders } from "@ccs/contract";
import { startInfrastructure, waitFor } from "@ccs/testkit";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, headers } from "@nats-io/transport-node";
import { DedupeStore } from "../src/dedupe-store.ts";
import { ensureUpstreamStreams } from "../src/streams.ts";
import { UpstreamDeduper } from "../src/upstream-deduper.ts";

const n = Number(process.argv[2] ?? 20_000);
const k = Number(process.argv[3] ?? 1);
const dupFraction = 0.1;
const infra = await startInfrastructure({ redisNodes: 1, mode: "local" });
const subjects = createSubjects("bench");
const conns = [];
try {
  const nc = await connect({ servers: infra.nats.url });
  conns.push(nc);
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  await ensureUpstreamStreams(
    jsm,
    subjects,
    {
      replicas: 1,
      publishDuplicateWindowMs: 600_000,
      publishedMaxAgeMs: 0,
      ackWaitMs: 30_000,
      maxAckPending: 20_000,
    },
    silentLogger,
  );
  const total = Math.round(n * (1 + dupFraction));
  const fill = async (): Promise<void> => {
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      const j = i < n ? i : i - n; // the last dupFraction * n are redeliveries of the first ones
      const h = headers();
      h.set(UpstreamHeaders.kind, "upstream");
      h.set(UpstreamHeaders.senderId, "123456789012");
      h.set(UpstreamHeaders.from, `device-token-${j}-${"x".repeat(140)}`);
      h.set(UpstreamHeaders.messageId, `m-${j}`);
      h.set(UpstreamHeaders.category, "com.example.app");
      pending.push(
        js.publish(
          subjects.internalUp("123456789012"),
          JSON.stringify({ data: { i: j }, message_id: `m-${j}` }),
          { headers: h },
        ),
      );
      if (pending.length >= 1_000) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
  };
  await fill();
  const keys = createKeySchema("bench:");
  const dedupers: UpstreamDeduper[] = [];
  const redis: RedisNodes[] = [];
  const started = performance.now();
  for (let i = 0; i < k; i++) {
    const c = await connect({ servers: infra.nats.url });
    conns.push(c);
    const nodes = new RedisNodes({ urls: infra.redis.map((r) => r.url) });
    redis.push(nodes);
    const d = new UpstreamDeduper({
      js: jetstream(c),
      subjects,
      dedupe: new DedupeStore({ nodes, keys, windowMs: 24 * 3600_000 }),
      maxInFlight: 256,
      retryDelayMs: 1_000,
      logger: silentLogger,
    });
    await d.start();
    dedupers.push(d);
  }
  await waitFor(
    async () => {
      const info = await jsm.consumers.info(subjects.internalUpStream, subjects.upstreamConsumer);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    { timeoutMs: 600_000, intervalMs: 100, description: "all acked" },
  );
  const seconds = (performance.now() - started) / 1000;
  const stored = (await jsm.streams.info(subjects.upStream)).state.messages;
  const counters = dedupers.map((d) => d.counters());
  await Promise.all(dedupers.map((d) => d.close()));
  const baselineRecordsPerSecond = await natsOnlyBaseline();
  const dedupeRecordsPerSecond = Math.round(total / seconds);
  console.log(
    JSON.stringify({
      replicas: k,
      internalRecords: total,
      distinct: n,
      publishedCopies: stored,
      skippedAsDuplicates: counters.reduce((a, c) => a + c.duplicates + c.streamDuplicates, 0),
      seconds: Math.round(seconds * 100) / 100,
      recordsPerSecond: dedupeRecordsPerSecond,
      baselineRecordsPerSecond,
      ratio: Math.round((dedupeRecordsPerSecond / baselineRecordsPerSecond) * 100) / 100,
    }),
  );
  await Promise.all(redis.map((r) => r.close()));

  /** The same records through consume → publish (Nats-Msg-Id, await the publish ack) → ack, no Redis. */
  async function natsOnlyBaseline(): Promise<number> {
    // A work-queue stream takes one consumer per subject: the de-duplicators' consumer goes first.
    await jsm.consumers.delete(subjects.internalUpStream, subjects.upstreamConsumer);
    await fill();
    await jsm.consumers.add(subjects.internalUpStream, {
      durable_name: "bench-baseline",
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: 20_000,
    });
    const consumer = await js.consumers.get(subjects.internalUpStream, "bench-baseline");
    const began = performance.now();
    const inFlight = new Set<Promise<void>>();
    let received = 0;
    const messages = await consumer.consume({ max_messages: 1_000 });
    for await (const m of messages) {
      const from = m.headers?.get(UpstreamHeaders.from) ?? "";
      const id = m.headers?.get(UpstreamHeaders.messageId) ?? "";
      const p = js
        .publish(subjects.up("123456789012", "com.example.app"), m.data, { msgID: `baseline:${from}:${id}` })
        .then(() => m.ack())
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= 256) await Promise.race(inFlight);
      received += 1;
      if (received >= total) break;
    }
    await Promise.all(inFlight);
    const elapsed = (performance.now() - began) / 1000;
    await messages.close();
    return Math.round(total / elapsed);
  }
} finally {
  await Promise.allSettled(conns.map((c) => c.close()));
  await infra.dispose();
}
