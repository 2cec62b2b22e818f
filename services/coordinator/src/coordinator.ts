// Wires one coordinator replica from a resolved config: senders source, Redis nodes, NATS, upstream
// de-duplication (every replica), leader election + leader loop, status/health HTTP server.
// main.ts adds only the process concerns (telemetry, signals, exit code).

import {
  AssignmentStore,
  createKeySchema,
  LeaderLease,
  type Logger,
  type Readiness,
  RedisNodes,
  type SenderConfig,
  SendersSource,
  SlotStatusStore,
  type StatusServer,
  startStatusServer,
  WorkerRegistry,
} from "@ccs/cluster";
import { createSubjects } from "@ccs/contract";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { CoordinatorConfig } from "./config.ts";
import { DedupeStore } from "./dedupe-store.ts";
import { IllegalStateError } from "./errors.ts";
import { LeaderLoop } from "./leader-loop.ts";
import { buildStatus } from "./status.ts";
import { ensureUpstreamStreams } from "./streams.ts";
import { UpstreamDeduper } from "./upstream-deduper.ts";

/** Un-acked internal upstream messages across all coordinators. */
const UPSTREAM_MAX_ACK_PENDING = 20_000;

/** "running" → close() → "closing" → "closed". */
export type CoordinatorState = "running" | "closing" | "closed";

export interface Coordinator {
  readonly config: CoordinatorConfig;
  readonly httpPort: number;
  readonly leader: LeaderLease;
  readonly state: CoordinatorState;
  senders(): readonly SenderConfig[];
  status(): Promise<Record<string, unknown>>;
  readiness(): Promise<Readiness>;
  /** Idempotent; every step runs even if one fails; bounded by config.shutdownTimeoutMs. */
  close(): Promise<void>;
}

type Cleanup = { readonly name: string; readonly run: () => Promise<unknown> };

async function runCleanups(cleanups: readonly Cleanup[], logger: Logger): Promise<void> {
  for (const c of [...cleanups].reverse()) {
    try {
      await c.run();
    } catch (error) {
      logger.warn(
        { step: c.name, err: error instanceof Error ? error.message : String(error) },
        "shutdown step failed",
      );
    }
  }
}

export async function startCoordinator(config: CoordinatorConfig, logger: Logger): Promise<Coordinator> {
  const cleanups: Cleanup[] = [];
  try {
    const keys = createKeySchema(config.redisKeyPrefix);
    const subjects = createSubjects(config.subjectPrefix, {
      ...(config.streams.internalUp !== undefined ? { internalUp: config.streams.internalUp } : {}),
      ...(config.streams.up !== undefined ? { up: config.streams.up } : {}),
      ...(config.streams.receipt !== undefined ? { receipt: config.streams.receipt } : {}),
    });

    const sendersSource = new SendersSource({
      ...(config.sendersFile !== undefined ? { file: config.sendersFile } : {}),
      inline: config.inlineSenders,
      reloadIntervalMs: config.sendersReloadIntervalMs,
      logger,
    });
    await sendersSource.start();
    cleanups.push({ name: "senders source", run: () => sendersSource.close() });

    const nodes = new RedisNodes({
      urls: config.redisUrls,
      commandTimeoutMs: config.redisCommandTimeoutMs,
      connectionName: `ccs-coordinator-${config.coordinatorId}`,
      logger,
    });
    cleanups.push({ name: "redis", run: () => nodes.close() });

    const nc: NatsConnection = await connect({
      servers: [...config.natsServers],
      name: `ccs-coordinator-${config.coordinatorId}`,
      maxReconnectAttempts: -1,
    });
    cleanups.push({ name: "nats", run: () => nc.drain().catch(() => nc.close()) });
    const jsm = await jetstreamManager(nc);
    const ensure = (): Promise<void> =>
      ensureUpstreamStreams(
        jsm,
        subjects,
        {
          replicas: config.streams.replicas,
          publishDuplicateWindowMs: config.streams.publishDuplicateWindowMs,
          publishedMaxAgeMs: config.streams.publishedMaxAgeMs,
          ackWaitMs: config.upstreamAckWaitMs,
          maxAckPending: UPSTREAM_MAX_ACK_PENDING,
        },
        logger,
      );
    await ensure();

    const deduper = new UpstreamDeduper({
      js: jetstream(nc),
      subjects,
      dedupe: new DedupeStore({ nodes, keys, windowMs: config.dedupeWindowMs }),
      maxInFlight: config.upstreamMaxInFlight,
      retryDelayMs: config.upstreamRetryDelayMs,
      logger: logger.child({ component: "upstream" }),
      ensure,
    });
    await deduper.start();
    cleanups.push({ name: "upstream deduper", run: () => deduper.close() });

    const registry = new WorkerRegistry({ nodes, keys, ttlMs: config.workerTtlMs, logger });
    const store = new AssignmentStore({ nodes, keys, logger });
    const slotStatus = new SlotStatusStore({ nodes, keys });
    const leader = new LeaderLease({
      nodes,
      keys,
      candidateId: config.coordinatorId,
      ttlMs: config.leaderTtlMs,
      logger,
    });
    const loop = new LeaderLoop({
      leader,
      registry,
      store,
      slotStatus,
      senders: () => sendersSource.current(),
      intervalMs: config.assignIntervalMs,
      drainReplacementFailures: config.drainReplacementFailures,
      logger: logger.child({ component: "leader-loop" }),
    });
    leader.on("elected", (token) => {
      logger.info({ fencingToken: token }, "elected leader");
      loop.trigger();
    });
    leader.on("deposed", (reason) => logger.warn({ reason }, "no longer leader"));
    sendersSource.on("change", () => loop.trigger());
    leader.start();
    loop.start();
    // Release the lease before anything else closes, so another replica leads at once.
    cleanups.push({ name: "leader lease", run: () => leader.close() });
    cleanups.push({ name: "leader loop", run: () => loop.close() });

    const status = (): Promise<Record<string, unknown>> =>
      buildStatus({
        coordinatorId: config.coordinatorId,
        leader,
        registry,
        store,
        slotStatus,
        senders: () => sendersSource.current(),
        sendersError: () => sendersSource.lastError,
        upstream: () => ({ ...deduper.counters(), state: deduper.state }),
        unassigned: () => loop.unassigned,
      });
    const readiness = async (): Promise<Readiness> => {
      const redis = await nodes
        .majority("readiness ping", (c) => c.ping())
        .then(() => true)
        .catch(() => false);
      const checks = {
        nats: !nc.isClosed(),
        redis,
        upstream: deduper.state === "running",
        senders: sendersSource.state === "watching",
      };
      return { ready: Object.values(checks).every(Boolean), checks };
    };
    const http: StatusServer = await startStatusServer({
      host: config.httpHost,
      port: config.httpPort,
      status,
      readiness,
      logger,
      failure: { code: 503, body: { error: "unavailable" } },
    });
    cleanups.push({ name: "http server", run: () => http.close() });

    let state: CoordinatorState = "running";
    let closing: Promise<void> | undefined;
    logger.info(
      { coordinatorId: config.coordinatorId, httpPort: http.port, senders: sendersSource.current().length },
      "coordinator running",
    );
    return {
      config,
      httpPort: http.port,
      leader,
      get state() {
        return state;
      },
      senders: () => sendersSource.current(),
      status: () => {
        if (state !== "running") return Promise.reject(new IllegalStateError("read status", state));
        return status();
      },
      readiness,
      close: () => {
        closing ??= (async () => {
          state = "closing";
          let timer: NodeJS.Timeout | undefined;
          const deadline = new Promise<"timeout">((resolve) => {
            timer = setTimeout(() => resolve("timeout"), config.shutdownTimeoutMs);
          });
          const outcome = await Promise.race([runCleanups(cleanups, logger), deadline]);
          clearTimeout(timer);
          if (outcome === "timeout") {
            logger.error(
              { timeoutMs: config.shutdownTimeoutMs },
              "shutdown deadline passed; closing connections",
            );
            await Promise.allSettled([nc.close(), nodes.close()]);
          }
          state = "closed";
          logger.info({}, "coordinator closed");
        })();
        return closing;
      },
    };
  } catch (error) {
    await runCleanups(cleanups, logger);
    throw error;
  }
}
