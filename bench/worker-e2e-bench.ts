/**
 * Worker end-to-end benchmark: JetStream downstream stream -> worker process -> CCS emulator (TLS
 * XMPP, child process) -> outcomes in JetStream, against a NATS-only pipeline on the same server
 * with the same stream settings.
 *
 *   node bench/worker-e2e-bench.ts [--messages 30000] [--connections 4] [--latency-seconds 10] [--window 100]
 *
 * Phases (one nats-server, file storage, replicas 1, 2 min de-duplication window):
 *  1. baseline (run before and after the worker phases; the mean is the reference): pre-fill a work-queue stream with N requests; consume them, publish one outcome per
 *     message awaiting its publish acknowledgement, then ack the work message. Rate = N / (first..last outcome).
 *  2. worker: pre-fill the worker's down stream with N requests; start the emulator and a worker
 *     process; rate = N / (first..last outcome seen on `ccs.out.>`).
 *  3. latency: a producer publishes at half the worker's rate for a few seconds; p50/p99 of
 *     publish -> outcome received (same clock, the bench process).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { silentLogger } from "@ccs/telemetry";
import { type ProcessHandle, spawnProcess, startNats, waitFor } from "@ccs/testkit";
import {
  AckPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { connect, headers, type NatsConnection, nanos } from "@nats-io/transport-node";
import { parseWorkerConfig } from "../services/worker/src/config/parse-config.ts";
import { ensureStreams, workerSubjects } from "../services/worker/src/pipeline/streams.ts";

const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "30000" },
    connections: { type: "string", default: "4" },
    window: { type: "string", default: "100" },
    "latency-seconds": { type: "string", default: "10" },
    /** Producer rate of the latency phase; default half the measured worker rate. */
    "latency-rate": { type: "string" },
    /** Skip the NATS-only baseline (development runs). */
    "no-baseline": { type: "boolean", default: false },
    /** Directory for a CPU profile of the worker process (node --cpu-prof). */
    "profile-dir": { type: "string" },
  },
});
const N = Number(args.messages);
const CONNECTIONS = Number(args.connections);
const WINDOW = Number(args.window);
const LATENCY_SECONDS = Number(args["latency-seconds"]);
const SENDER = "123456789012";
const API_KEY = "demo-api-key-not-secret";
const DUPLICATE_WINDOW_MS = 120_000;

function token(i: number): string {
  return `bench${i % 5000}:APA91b${"x".repeat(140)}`;
}

function request(i: number, prefix: string): string {
  return JSON.stringify({
    to: token(i),
    message_id: `${prefix}-${i}`,
    data: { title: "hello", body: `message ${i}` },
    time_to_live: 3600,
  });
}

async function prefill(js: JetStreamClient, subject: string, prefix: string, count: number): Promise<void> {
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    inflight.push(js.publish(subject, request(i, prefix), { msgID: `${prefix}-${i}` }));
    if (inflight.length >= 500) await Promise.all(inflight.splice(0));
  }
  await Promise.all(inflight);
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** The plain NATS-only pipeline: consume work, publish one outcome (await its ack), ack the work. */
async function baseline(
  nc: NatsConnection,
  jsm: JetStreamManager,
  js: JetStreamClient,
  tag: string,
): Promise<number> {
  const down = `BASE_DOWN_${tag}`;
  const out = `BASE_OUT_${tag}`;
  const common = {
    storage: StorageType.File,
    num_replicas: 1,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  };
  await jsm.streams.add({
    name: down,
    subjects: [`base${tag}.down.*`],
    retention: RetentionPolicy.Workqueue,
    ...common,
  });
  await jsm.streams.add({
    name: out,
    subjects: [`base${tag}.out.*`],
    retention: RetentionPolicy.Limits,
    ...common,
  });
  await jsm.consumers.add(down, {
    durable_name: "base",
    ack_policy: AckPolicy.Explicit,
    filter_subject: `base${tag}.down.${SENDER}`,
    max_ack_pending: 20_000,
  });
  await prefill(js, `base${tag}.down.${SENDER}`, "b", N);
  const consumer = await js.consumers.get(down, "base");
  let done = 0;
  let first = 0;
  let last = 0;
  const messages = await consumer.consume({
    max_messages: 1000,
    callback: (m) => {
      const body = m.json<{ message_id: string; to: string }>();
      const h = headers();
      h.set("Ccs-Status", "acked");
      const outcome = JSON.stringify({
        v: 1,
        message_id: body.message_id,
        sender_id: SENDER,
        to: body.to,
        status: "acked",
      });
      js.publish(`base${tag}.out.${SENDER}`, outcome, {
        msgID: `${SENDER}:${body.message_id}`,
        headers: h,
      }).then(
        () => {
          m.ack();
          const now = performance.now();
          if (done === 0) first = now;
          last = now;
          done++;
        },
        (err: unknown) => console.error("baseline publish failed", err),
      );
    },
  });
  await waitFor(() => done >= N, { timeoutMs: 300_000, description: "baseline outcomes", intervalMs: 20 });
  await messages.close();
  await nc.flush();
  await jsm.streams.delete(down);
  await jsm.streams.delete(out);
  return (N - 1) / ((last - first) / 1000);
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), "worker-e2e-bench-"));
  const nats = await startNats({ mode: "local" });
  const nc = await connect({ servers: nats.url });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  let emulator: ProcessHandle | undefined;
  let worker: ProcessHandle | undefined;
  try {
    console.error(`baseline (before): ${N} messages...`);
    const skipBaseline = args["no-baseline"] === true;
    const baselineBefore = skipBaseline ? Number.NaN : await baseline(nc, jsm, js, "A");
    console.error(`baseline (before): ${baselineBefore.toFixed(0)} msgs/s`);

    // Worker streams, provisioned exactly as the worker does (file, replicas 1, 2 min dedupe).
    const config = parseWorkerConfig(
      { senders: [{ senderId: SENDER, apiKey: API_KEY, connections: CONNECTIONS }] },
      { env: {} },
    );
    const s = workerSubjects(config);
    await ensureStreams(jsm, config.streams, s, silentLogger);
    await prefill(js, s.down(SENDER), "w", N);

    let outcomes = 0;
    let first = 0;
    let last = 0;
    const statuses = new Map<string, number>();
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    const workerLatencies: number[] = [];
    nc.subscribe(s.out(SENDER), {
      callback: (_err, msg) => {
        const now = performance.now();
        if (outcomes === 0) first = now;
        last = now;
        outcomes++;
        const status = msg.headers?.get("Ccs-Status") ?? "?";
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        const id = msg.headers?.get("Ccs-Message-Id");
        const t0 = id === undefined ? undefined : sentAt.get(id);
        if (t0 !== undefined) {
          latencies.push(now - t0);
          // The worker's own view: JetStream publish timestamp -> outcome built.
          workerLatencies.push(msg.json<{ latency_ms: number }>().latency_ms);
        }
      },
    });
    await nc.flush();

    const certOut = join(tmp, "emulator-cert.pem");
    emulator = await spawnProcess({
      command: process.execPath,
      args: [
        "services/ccs-emulator/src/cli.ts",
        "--port",
        "0",
        "--admin-port",
        "0",
        "--cert-out",
        certOut,
        "--sender",
        `${SENDER}:${API_KEY}`,
        "--log-level",
        "silent",
      ],
      readyLine: /"event":"ready"/,
      readyTimeoutMs: 30_000,
    });
    const readyLine = await emulator.waitForLine(/"event":"ready"/, 1000);
    const ready = JSON.parse(readyLine) as { port: number; certPath: string };

    worker = await spawnProcess({
      command: process.execPath,
      args: [
        ...(args["profile-dir"] === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", args["profile-dir"]]),
        "services/worker/src/main.ts",
      ],
      env: {
        ...process.env,
        CCS_NATS_SERVERS: nats.url,
        CCS_HOST: "127.0.0.1",
        CCS_PORT: String(ready.port),
        CCS_CA_FILE: ready.certPath,
        CCS_SENDERS: JSON.stringify([{ senderId: SENDER, apiKey: API_KEY, connections: CONNECTIONS }]),
        CCS_WINDOW_SIZE: String(WINDOW),
        CCS_WORKER_ID: "bench-worker",
        LOG_LEVEL: "info",
      },
      readyLine: /worker ready/,
      readyTimeoutMs: 30_000,
    });
    console.error("worker: draining the pre-filled stream...");
    await waitFor(() => outcomes >= N, {
      timeoutMs: 600_000,
      description: "worker outcomes",
      intervalMs: 20,
    });
    const workerRate = (N - 1) / ((last - first) / 1000);
    const drained = Object.fromEntries(statuses);
    console.error(`worker: ${workerRate.toFixed(0)} msgs/s ${JSON.stringify(drained)}`);

    // Latency at half the worker's rate.
    const rate =
      args["latency-rate"] === undefined
        ? Math.max(1, Math.floor(workerRate / 2))
        : Number(args["latency-rate"]);
    const total = rate * LATENCY_SECONDS;
    console.error(`latency: ${total} messages at ${rate} msgs/s...`);
    const before = outcomes;
    const tickMs = 10;
    const start = performance.now();
    let published = 0;
    const pubs: Promise<unknown>[] = [];
    while (published < total) {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      for (; published < due; published++) {
        const id = `l-${published}`;
        sentAt.set(id, performance.now());
        pubs.push(js.publish(s.down(SENDER), request(published, "l"), { msgID: id }));
      }
      if (pubs.length > 1000) await Promise.all(pubs.splice(0));
      await new Promise((r) => setTimeout(r, tickMs));
    }
    await Promise.all(pubs);
    await waitFor(() => outcomes >= before + total, { timeoutMs: 120_000, description: "latency outcomes" });
    const sorted = latencies.sort((a, b) => a - b);
    const workerSorted = workerLatencies.sort((a, b) => a - b);
    await worker.stop(15_000);
    await emulator.stop(5_000);
    console.error(`baseline (after): ${N} messages...`);
    const baselineAfter = skipBaseline ? Number.NaN : await baseline(nc, jsm, js, "B");
    console.error(`baseline (after): ${baselineAfter.toFixed(0)} msgs/s`);
    const baselineRate = (baselineBefore + baselineAfter) / 2;
    const result = {
      messages: N,
      connections: CONNECTIONS,
      window: WINDOW,
      baselineMsgsPerSec: Math.round(baselineRate),
      baselineRuns: [Math.round(baselineBefore), Math.round(baselineAfter)],
      workerMsgsPerSec: Math.round(workerRate),
      ratio: Number((workerRate / baselineRate).toFixed(2)),
      latency: {
        rate,
        count: sorted.length,
        p50Ms: Number(percentile(sorted, 50).toFixed(1)),
        p99Ms: Number(percentile(sorted, 99).toFixed(1)),
        maxMs: Number((sorted[sorted.length - 1] ?? Number.NaN).toFixed(1)),
        workerP50Ms: percentile(workerSorted, 50),
        workerP99Ms: percentile(workerSorted, 99),
      },
      outcomes: drained,
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await worker?.stop(15_000);
    await emulator?.stop(5_000);
    await nc.close();
    await nats.dispose();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
