/**
 * The worker's composition root: config, telemetry, NATS, connection slots, pipeline, signals.
 * Everything else takes its collaborators as arguments. Run: `node services/worker/src/main.ts`.
 */
import { readFileSync } from "node:fs";
import { createLogger, loadTelemetryConfig, startTelemetry } from "@ccs/telemetry";
import { credsAuthenticator } from "@nats-io/nats-core";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { StaticAssignment } from "./assignment/static-assignment.ts";
import { ConfigError } from "./config/errors.ts";
import { loadWorkerConfig } from "./config/load-config.ts";
import type { WorkerConfig } from "./config/worker-config.ts";
import { createConnectionSlot } from "./connection/index.ts";
import { WorkerMetrics } from "./metrics.ts";
import { otelMetricsSink } from "./metrics-otel.ts";
import { errorFields, type Logger } from "./pipeline/logger.ts";
import { type SlotFactory, WorkerPipeline } from "./pipeline/worker-pipeline.ts";

export const SERVICE_NAME = "ccs-worker";
/** Logged (as `msg`) once the worker runs: process supervisors and tests wait for it. */
export const READY_MESSAGE = "worker ready";

/** The connection layer's slots for the configured CCS endpoint. */
export function connectionSlotFactory(config: WorkerConfig, logger: Logger): SlotFactory {
  const caPem = config.ccs.caFile === undefined ? undefined : readFileSync(config.ccs.caFile, "utf8");
  const keys = new Map(config.senders.map((s) => [s.senderId, s.apiKey]));
  return (grant) => {
    const apiKey = keys.get(grant.senderId);
    if (apiKey === undefined) throw new ConfigError([`no API key configured for sender ${grant.senderId}`]);
    return createConnectionSlot({
      senderId: grant.senderId,
      apiKey,
      slotIndex: grant.slotIndex,
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

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const telemetryConfig = loadTelemetryConfig(env, SERVICE_NAME);
  const logger = createLogger({ service: SERVICE_NAME, level: telemetryConfig.logLevel });
  let config: WorkerConfig;
  try {
    config = loadWorkerConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.fatal({ problems: err.problems }, "invalid configuration");
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  const log = logger.child({ workerId: config.workerId });
  const telemetry = await startTelemetry(telemetryConfig);
  const metrics = new WorkerMetrics(telemetry.enabled ? otelMetricsSink() : undefined);
  const nc = await connectNats(config);
  log.info({ server: nc.getServer() }, "connected to NATS");

  const pipeline = new WorkerPipeline({
    nc,
    config,
    slotFactory: connectionSlotFactory(config, log),
    assignment: new StaticAssignment(config.senders),
    metrics,
    logger: log,
  });

  const metricsTimer =
    config.metricsLogIntervalMs > 0
      ? setInterval(() => log.info(metrics.snapshot(), "metrics"), config.metricsLogIntervalMs)
      : undefined;
  metricsTimer?.unref();

  let shuttingDown = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info({ signal, graceMs: config.shutdown.graceMs, forceMs: config.shutdown.forceMs }, "shutting down");
    const force = setTimeout(() => {
      log.error(
        { forceMs: config.shutdown.forceMs },
        "shutdown took too long; exiting (JetStream redelivers)",
      );
      process.exit(1);
    }, config.shutdown.forceMs);
    force.unref();
    try {
      await pipeline.close();
      if (metricsTimer !== undefined) clearInterval(metricsTimer);
      log.info(metrics.snapshot(), "final metrics");
      await nc.drain();
      await telemetry.shutdown();
    } catch (err) {
      log.error(errorFields(err), "shutdown error");
      process.exitCode = 1;
    }
    clearTimeout(force);
    log.info({}, "worker stopped");
    // Connection-layer timers must not keep a stopped worker alive.
    process.exit(process.exitCode ?? 0);
  };
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
  process.once("SIGINT", () => void shutdown("SIGINT"));

  await pipeline.start();
  log.info(
    { senders: config.senders.map((s) => ({ senderId: s.senderId, connections: s.connections })) },
    READY_MESSAGE,
  );
  await nc.closed();
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(JSON.stringify({ level: "fatal", msg: "worker failed", ...errorFields(err) }));
    process.exit(1);
  });
}
