/**
 * Wires one worker from a validated config: NATS, senders (API keys), the connection slots, the
 * assignment source (static, or coordinated through Redis when cluster.redisUrls is set), the
 * pipeline and the HTTP status server. main.ts (the composition root) adds config loading,
 * telemetry and signals; tests may call startWorker directly.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import {
  createKeySchema,
  describeSender,
  RedisNodes,
  type SendersSource,
  type StatusServer,
  startStatusServer,
} from "@ccs/cluster";
import { errorFields, type Logger } from "@ccs/telemetry";
import { jetstream } from "@nats-io/jetstream";
import { credsAuthenticator } from "@nats-io/nats-core";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { AssignmentSource, SlotGrant } from "./assignment/assignment-source.ts";
import { CoordinatedAssignment } from "./assignment/coordinated-assignment.ts";
import { StaticAssignment } from "./assignment/static-assignment.ts";
import { ConfigError } from "./config/errors.ts";
import type { WorkerConfig } from "./config/worker-config.ts";
import { createConnectionSlot, type UpstreamSink } from "./connection/index.ts";
import type { WorkerMetrics } from "./metrics.ts";
import { workerSubjects } from "./pipeline/streams.ts";
import { UpstreamPersister } from "./pipeline/upstream-persister.ts";
import { type SlotFactory, WorkerPipeline } from "./pipeline/worker-pipeline.ts";
import { createSendersSource } from "./senders.ts";
import { RateSampler, workerStatus } from "./status.ts";

export const SERVICE_NAME = "ccs-worker";
/** Logged (as `msg`, with `httpPort`) once the worker runs: process supervisors and tests wait for it. */
export const READY_MESSAGE = "worker ready";

/**
 * Connection slots for the configured CCS endpoint; API keys looked up (live) in `senders`. Every
 * connection of every slot hands its upstream messages and receipts to `upstream` from the moment it
 * is authenticated, whether its slot is being prepared, granted, draining or revoked.
 */
export function connectionSlotFactory(
  config: WorkerConfig,
  senders: SendersSource,
  logger: Logger,
  upstream: UpstreamSink,
): SlotFactory {
  const caPem = config.ccs.caFile === undefined ? undefined : readFileSync(config.ccs.caFile, "utf8");
  return (grant) => {
    const apiKey = senders.current().find((s) => s.senderId === grant.senderId)?.apiKey;
    if (apiKey === undefined) throw new ConfigError([`no API key configured for sender ${grant.senderId}`]);
    return createConnectionSlot({
      senderId: grant.senderId,
      apiKey,
      slotIndex: grant.slotIndex,
      upstream,
      service: {
        host: config.ccs.host,
        port: config.ccs.port,
        rejectUnauthorized: config.ccs.rejectUnauthorized,
        ...(caPem === undefined ? {} : { caPem }),
        ...(config.ccs.servername === undefined ? {} : { servername: config.ccs.servername }),
      },
      domain: config.ccs.domain,
      windowSize: config.connection.windowSize,
      answerTimeoutMs: config.connection.answerTimeoutMs,
      pingIntervalMs: config.connection.pingIntervalMs,
      backoff: { initialMs: config.connection.reconnectInitialMs, maxMs: config.connection.reconnectMaxMs },
      logger: logger.child({ component: "connection", senderId: grant.senderId, slot: grant.slotIndex }),
    });
  };
}

export async function connectNats(config: WorkerConfig): Promise<NatsConnection> {
  const n = config.nats;
  return connect({
    servers: [...n.servers],
    name: `${SERVICE_NAME}-${config.workerId}`,
    maxReconnectAttempts: -1,
    // Capturing an async stack per JetStream publish/request costs ~15 % of the worker's CPU at
    // full rate (nats.js builds an Error per request); errors still carry their own stack.
    noAsyncTraces: true,
    ...(n.user === undefined ? {} : { user: n.user, pass: n.pass?.reveal() ?? "" }),
    ...(n.token === undefined ? {} : { token: n.token.reveal() }),
    ...(n.credsFile === undefined
      ? {}
      : { authenticator: credsAuthenticator(new Uint8Array(readFileSync(n.credsFile))) }),
  });
}

export interface StartWorkerOptions {
  readonly config: WorkerConfig;
  readonly metrics: WorkerMetrics;
  readonly logger: Logger;
  /** Where senders' apiKeyEnv is looked up. Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/** running → stopping → stopped. */
export type WorkerState = "running" | "stopping" | "stopped";

export interface WorkerHandle {
  readonly httpPort: number;
  readonly statusUrl: string;
  readonly state: WorkerState;
  readonly nats: NatsConnection;
  /** Graceful and idempotent: pipeline (hand back, let sends finish), leases, NATS, Redis, HTTP. */
  close(): Promise<void>;
}

function advertisedHost(host: string): string {
  return host === "0.0.0.0" || host === "::" ? hostname() : host;
}

export async function startWorker(options: StartWorkerOptions): Promise<WorkerHandle> {
  const { config, metrics } = options;
  const log = options.logger;
  const cleanups: Array<{ name: string; run: () => Promise<unknown> }> = [];
  const closeAll = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c.run();
      } catch (err) {
        log.error({ ...errorFields(err), step: c.name }, "worker shutdown step failed");
      }
    }
  };
  try {
    const senders = createSendersSource(config, options.env ?? process.env, log);
    const initial = await senders.start();
    cleanups.push({ name: "senders", run: () => senders.close() });
    log.info({ senders: initial.map(describeSender), file: senders.file }, "senders loaded");

    const nc = await connectNats(config);
    cleanups.push({ name: "nats", run: () => nc.drain() });
    log.info({ server: nc.getServer() }, "connected to NATS");
    let natsConnected = true;
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === "disconnect") natsConnected = false;
        else if (s.type === "reconnect") natsConnected = true;
      }
    })();

    // Closed after the pipeline and the prepared slots (cleanups run in reverse): by then their
    // connections are closed, so nothing is left for it to abandon unless a close timed out.
    const persister = new UpstreamPersister({
      js: jetstream(nc),
      subjectFor: workerSubjects(config).internalUp,
      workerId: config.workerId,
      metrics,
      logger: log.child({ component: "upstream" }),
    });
    cleanups.push({ name: "upstream", run: () => persister.close() });
    const baseFactory = connectionSlotFactory(config, senders, log, persister.accept);
    let coordinated: CoordinatedAssignment | undefined;
    let assignment: AssignmentSource;
    let slotFactory: SlotFactory = baseFactory;
    let nodes: RedisNodes | undefined;
    if (config.mode === "coordinated") {
      const redis = new RedisNodes({
        urls: config.cluster.redisUrls,
        connectionName: config.workerId,
        logger: log,
      });
      nodes = redis;
      cleanups.push({ name: "redis", run: () => redis.close() });
    }

    const rates = new RateSampler(metrics);
    let pipelineRef: WorkerPipeline | undefined;
    const http: StatusServer = await startStatusServer({
      host: config.http.host,
      port: config.http.port,
      logger: log,
      readiness: () => {
        const checks: Record<string, boolean> = { nats: natsConnected && !nc.isClosed() };
        if (coordinated !== undefined) checks.registered = coordinated.registered;
        checks.pipeline = pipelineRef?.state === "running";
        return { ready: Object.values(checks).every(Boolean), checks };
      },
      status: () =>
        workerStatus({
          config,
          senders: senders.current(),
          pipeline: pipelineRef,
          assignment: coordinated,
          metrics,
          rates: rates.rates(),
          natsConnected,
        }),
    });
    cleanups.push({ name: "http", run: () => http.close() });
    const statusUrl = `http://${advertisedHost(config.http.host)}:${http.port}/status`;

    if (nodes !== undefined) {
      const c = new CoordinatedAssignment({
        nodes,
        keys: createKeySchema(config.cluster.keyPrefix),
        workerId: config.workerId,
        capacity: config.cluster.capacity,
        host: hostname(),
        statusUrl,
        workerTtlMs: config.cluster.workerTtlMs,
        leaseTtlMs: config.cluster.slotLeaseTtlMs,
        healthReportIntervalMs: config.cluster.healthReportIntervalMs,
        replacementFailureLimit: config.cluster.replacementFailureLimit,
        slotFactory: baseFactory,
        graceMs: config.shutdown.graceMs,
        logger: log,
      });
      await c.register();
      // Even if the pipeline never closes it: deregister and release leases.
      cleanups.push({ name: "assignment", run: () => c.stop() });
      coordinated = c;
      assignment = c;
      slotFactory = (grant: SlotGrant) => c.slotFor(grant);
    } else {
      assignment = new StaticAssignment(senders.current());
      senders.on("change", () =>
        log.warn({}, "senders changed: new API keys apply to new connections; restart for new senders"),
      );
    }

    const pipeline = new WorkerPipeline({ nc, config, slotFactory, assignment, metrics, logger: log });
    pipelineRef = pipeline;
    cleanups.push({ name: "pipeline", run: () => pipeline.close() });
    await pipeline.start();
    rates.start();
    cleanups.push({ name: "rates", run: async () => rates.stop() });

    let state: WorkerState = "running";
    let closing: Promise<void> | undefined;
    return {
      httpPort: http.port,
      statusUrl,
      nats: nc,
      get state() {
        return state;
      },
      close: () => {
        closing ??= (async () => {
          state = "stopping";
          await closeAll();
          state = "stopped";
        })();
        return closing;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
