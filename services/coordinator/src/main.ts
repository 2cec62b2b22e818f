// Composition root of the coordinator process: configuration, telemetry, the coordinator, signals.
// SIGTERM/SIGINT close everything once (a second signal does not start a second shutdown) and exit 0.

import { createLogger, loadTelemetryConfig, startTelemetry } from "@ccs/telemetry";
import { loadCoordinatorConfig } from "./config.ts";
import { startCoordinator } from "./coordinator.ts";

const SERVICE = "ccs-coordinator";

async function main(): Promise<void> {
  const telemetryConfig = loadTelemetryConfig(process.env, SERVICE);
  const logger = createLogger({ service: SERVICE, level: telemetryConfig.logLevel });
  let config: Awaited<ReturnType<typeof loadCoordinatorConfig>>;
  try {
    config = await loadCoordinatorConfig(process.env);
  } catch (error) {
    logger.fatal({ err: error instanceof Error ? error.message : String(error) }, "invalid configuration");
    process.exitCode = 2;
    return;
  }
  const telemetry = await startTelemetry(telemetryConfig);
  const coordinator = await startCoordinator(config, logger.child({ coordinatorId: config.coordinatorId }));
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, "shutting down");
    if (stopping) return;
    stopping = true;
    void (async () => {
      await coordinator.close();
      await telemetry.shutdown().catch(() => undefined);
      process.exit(0);
    })();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error: unknown) => {
  console.error(
    JSON.stringify({
      level: "fatal",
      msg: "coordinator failed to start",
      err: error instanceof Error ? error.message : String(error),
    }),
  );
  process.exit(1);
});
