import { type RequestedInfraMode, resolveInfraMode } from "./container-runtime.ts";
import { InvalidOptionError } from "./errors.ts";
import type { TestkitLogger } from "./logger.ts";
import { type StartNatsOptions, startNats } from "./nats.ts";
import { startRedis } from "./redis.ts";
import type { ServerHandle } from "./server-handle.ts";

/** One Redis node unless asked for more. */
export const DEFAULT_REDIS_NODES = 1;

export interface StartInfrastructureOptions {
  /** Number of independent Redis servers. Default {@link DEFAULT_REDIS_NODES}. */
  readonly redisNodes?: number;
  /** Applies to every server. Default "auto" (or env CCS_TEST_INFRA). */
  readonly mode?: RequestedInfraMode;
  /** Options for the NATS server (its `mode` is taken from `mode`). */
  readonly nats?: Omit<StartNatsOptions, "mode" | "logger">;
  readonly logger?: TestkitLogger;
}

export interface Infrastructure {
  readonly nats: ServerHandle;
  readonly redis: readonly ServerHandle[];
  /** Idempotent: disposes every server (all of them, even if one fails). */
  dispose(): Promise<void>;
}

/** Starts one NATS (JetStream) server and `redisNodes` independent Redis servers, in parallel. */
export async function startInfrastructure(options: StartInfrastructureOptions = {}): Promise<Infrastructure> {
  const redisNodes = options.redisNodes ?? DEFAULT_REDIS_NODES;
  if (!Number.isInteger(redisNodes) || redisNodes < 0) {
    throw new InvalidOptionError(
      `startInfrastructure: redisNodes must be an integer >= 0 (got ${redisNodes})`,
    );
  }
  // Resolve once so every server runs in the same mode.
  const mode = await resolveInfraMode(options.mode);
  const logger = options.logger !== undefined ? { logger: options.logger } : {};
  const results = await Promise.allSettled([
    startNats({ ...options.nats, mode, ...logger }),
    ...Array.from({ length: redisNodes }, () => startRedis({ mode, ...logger })),
  ]);
  const started = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    await Promise.allSettled(started.map((server) => server.dispose()));
    throw failures.length === 1
      ? failures[0]
      : new AggregateError(failures, "starting infrastructure failed");
  }
  const [nats, ...redis] = started;
  if (nats === undefined) {
    // Unreachable: with no failures, started[0] is the NATS server.
    throw new TypeError("startInfrastructure: no NATS handle");
  }
  let disposing: Promise<void> | undefined;
  return {
    nats,
    redis,
    dispose: () => {
      disposing ??= (async () => {
        const outcomes = await Promise.allSettled(started.map((server) => server.dispose()));
        const errors = outcomes.flatMap((o) => (o.status === "rejected" ? [o.reason as unknown] : []));
        if (errors.length > 0) {
          throw new AggregateError(errors, "disposing infrastructure failed");
        }
      })();
      return disposing;
    },
  };
}
