/**
 * The worker's composition root: config, telemetry, the worker (startWorker wires NATS, senders,
 * connection slots, the static or coordinated assignment, the pipeline and the HTTP server), signals.
 * Run: `node services/worker/src/main.ts`. Coordinated mode when CCS_REDIS_URLS is set.
 */
import { createLogger, errorFields, loadTelemetryConfig, startTelemetry } from "@ccs/telemetry";
import { ConfigError } from "./config/errors.ts";
import { loadWorkerConfig } from "./config/load-config.ts";
import type { WorkerConfig } from "./config/worker-config.ts";
import { WorkerMetrics } from "./metrics.ts";
import { otelMetricsSink } from "./metrics-otel.ts";
import { READY_MESSAGE, SERVICE_NAME, startWorker } from "./worker.ts";

export { connectionSlotFactory, connectNats, READY_MESSAGE, SERVICE_NAME } from "./worker.ts";

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
  const worker = await startWorker({ config, metrics, logger: log, env });

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
      await worker.close();
      if (metricsTimer !== undefined) clearInterval(metricsTimer);
      log.info(metrics.snapshot(), "final metrics");
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

  log.info(
    {
      mode: config.mode,
      httpPort: worker.httpPort,
      statusUrl: worker.statusUrl,
      senders: config.senders.map((s) => ({ senderId: s.senderId, connections: s.connections })),
      ...(config.sendersFile === undefined ? {} : { sendersFile: config.sendersFile }),
      ...(config.mode === "coordinated" ? { capacity: config.cluster.capacity } : {}),
    },
    READY_MESSAGE,
  );
  await worker.nats.closed();
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(JSON.stringify({ level: "fatal", msg: "worker failed", ...errorFields(err) }));
    process.exit(1);
  });
}
