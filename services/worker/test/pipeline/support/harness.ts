/**
 * Integration harness: a real nats-server (JetStream) shared by a test file, and per test a worker
 * pipeline with its own subject prefix and stream names, fed by the scriptable FakeCcs.
 */

import { type Logger, silentLogger } from "@ccs/telemetry";
import { type ServerHandle, startNats, waitFor } from "@ccs/testkit";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { AssignmentSource } from "../../../src/assignment/assignment-source.ts";
import { StaticAssignment } from "../../../src/assignment/static-assignment.ts";
import { parseWorkerConfig } from "../../../src/config/parse-config.ts";
import type { WorkerConfig, WorkerConfigInput } from "../../../src/config/worker-config.ts";
import { WorkerMetrics } from "../../../src/metrics.ts";
import type { Outcome } from "../../../src/pipeline/outcome.ts";
import { workerSubjects } from "../../../src/pipeline/streams.ts";
import { UpstreamPersister } from "../../../src/pipeline/upstream-persister.ts";
import { WorkerPipeline } from "../../../src/pipeline/worker-pipeline.ts";
import { FakeCcs, type Script } from "./fake-ccs.ts";

let counter = 0;

export async function startTestNats(): Promise<ServerHandle> {
  return startNats({ mode: "local" });
}

export interface HarnessOptions {
  readonly senders?: ReadonlyArray<{ senderId: string; connections: number }>;
  readonly windowSize?: number;
  readonly script?: Script;
  readonly config?: WorkerConfigInput;
  readonly logger?: Logger;
  /** Default true. */
  readonly start?: boolean;
  /** Default: StaticAssignment of `senders`. */
  readonly assignment?: AssignmentSource;
  /** Reuse another harness's subject prefix and streams (a second worker of the same cluster). */
  readonly prefix?: string;
}

export class Harness {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly config: WorkerConfig;
  readonly ccs: FakeCcs;
  readonly metrics = new WorkerMetrics();
  readonly pipeline: WorkerPipeline;
  /** The worker's upstream path, fed by every fake connection (as worker.ts wires the real ones). */
  readonly upstream: UpstreamPersister;
  readonly outcomes: Outcome[] = [];
  readonly outcomeHeaders: Array<Record<string, string>> = [];
  readonly #sub: Subscription;

  private constructor(
    nc: NatsConnection,
    jsm: JetStreamManager,
    config: WorkerConfig,
    ccs: FakeCcs,
    logger: Logger,
    assignment: AssignmentSource,
  ) {
    this.nc = nc;
    this.js = jetstream(nc);
    this.jsm = jsm;
    this.config = config;
    this.ccs = ccs;
    this.upstream = new UpstreamPersister({
      js: this.js,
      subjectFor: workerSubjects(config).internalUp,
      workerId: config.workerId,
      metrics: this.metrics,
      logger,
      retryMs: 20,
      retryMaxMs: 200,
    });
    ccs.upstreamSink = this.upstream.accept;
    this.pipeline = new WorkerPipeline({
      nc,
      config,
      slotFactory: ccs.slotFactory,
      assignment,
      metrics: this.metrics,
      logger,
    });
    this.#sub = nc.subscribe(`${config.subjectPrefix}.out.>`, {
      callback: (err, msg) => {
        if (err) return;
        this.outcomes.push(msg.json<Outcome>());
        const h: Record<string, string> = {};
        for (const [k, v] of msg.headers ?? []) h[k] = v.join(",");
        this.outcomeHeaders.push(h);
      },
    });
  }

  static async start(url: string, options: HarnessOptions = {}): Promise<Harness> {
    const n = ++counter;
    const prefix = options.prefix ?? `t${process.pid}x${n}`;
    const senders = options.senders ?? [{ senderId: "111", connections: 2 }];
    const config = parseWorkerConfig(
      {
        workerId: `test-worker-${n}`,
        ...options.config,
        nats: { servers: url },
        subjectPrefix: prefix,
        streams: {
          down: { name: `${prefix}_DOWN`, storage: "memory", ...options.config?.streams?.down },
          outcomes: { name: `${prefix}_OUT`, storage: "memory", ...options.config?.streams?.outcomes },
          upstream: { name: `${prefix}_UP`, storage: "memory", ...options.config?.streams?.upstream },
        },
        connection: { windowSize: options.windowSize ?? 100, ...options.config?.connection },
        senders: senders.map((s) => ({ ...s, apiKey: "test-key" })),
      },
      { env: {} },
    );
    const nc = await connect({ servers: url });
    const jsm = await jetstreamManager(nc);
    const ccs = new FakeCcs({
      windowSize: config.connection.windowSize,
      ...(options.script === undefined ? {} : { script: options.script }),
    });
    const h = new Harness(
      nc,
      jsm,
      config,
      ccs,
      options.logger ?? silentLogger,
      options.assignment ?? new StaticAssignment(config.senders),
    );
    await nc.flush();
    if (options.start !== false) await h.pipeline.start();
    return h;
  }

  /** Publishes one downstream request (object or raw text) and waits for JetStream's ack. */
  async publish(senderId: string, body: unknown, options: { msgId?: string } = {}): Promise<number> {
    const data = typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body);
    const h = headers();
    const ack = await this.js.publish(`${this.config.subjectPrefix}.down.${senderId}`, data, {
      ...(options.msgId === undefined ? {} : { msgID: options.msgId }),
      headers: h,
    });
    return ack.seq;
  }

  /** Publishes many requests concurrently (bounded), message ids `${idPrefix}-${i}`. */
  async publishMany(senderId: string, count: number, idPrefix: string, extra: Record<string, unknown> = {}) {
    const ids: string[] = [];
    const inflight: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) {
      const id = `${idPrefix}-${i}`;
      ids.push(id);
      inflight.push(
        this.publish(senderId, { to: token(i), message_id: id, data: { n: String(i) }, ...extra }),
      );
      if (inflight.length >= 200) await Promise.all(inflight.splice(0));
    }
    await Promise.all(inflight);
    return ids;
  }

  outcomeFor(messageId: string): Outcome[] {
    return this.outcomes.filter((o) => o.message_id === messageId);
  }

  async waitForOutcomes(count: number, timeoutMs = 20_000): Promise<void> {
    await waitFor(() => this.outcomes.length >= count, {
      timeoutMs,
      description: `${count} outcomes (have ${this.outcomes.length})`,
    });
  }

  async waitFor<T>(probe: () => T | undefined | false, description: string, timeoutMs = 20_000): Promise<T> {
    return waitFor(probe, { timeoutMs, description, intervalMs: 10 });
  }

  /** Messages still in the down stream (work-queue: acked ones are removed). */
  async downStreamMessages(): Promise<number> {
    return (await this.jsm.streams.info(this.config.streams.down.name)).state.messages;
  }

  async close(): Promise<void> {
    await this.pipeline.close().catch(() => undefined);
    await this.upstream.close();
    this.#sub.unsubscribe();
    await this.nc.close();
  }
}

/** A well-formed registration token (long enough to pass CCS's rules). */
export function token(i: number): string {
  return `tok${String(i).padStart(6, "0")}:APA91b${"x".repeat(140)}`;
}
