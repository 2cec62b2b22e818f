import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary, REDIS_SERVER_BINARY } from "./binaries.ts";
import { ContainerBackend } from "./container-backend.ts";
import { type RequestedInfraMode, resolveInfraMode } from "./container-runtime.ts";
import { DEFAULT_HOST } from "./free-port.ts";
import { launchServer } from "./launch-server.ts";
import { LocalBackend } from "./local-backend.ts";
import { SILENT_LOGGER, type TestkitLogger } from "./logger.ts";
import { probeRedis } from "./probes.ts";
import type { ServerHandle } from "./server-handle.ts";
import { validatePort, validateTimeout } from "./validate.ts";

/** Image used in container mode; override with env `CCS_REDIS_IMAGE`. */
export const DEFAULT_REDIS_IMAGE = "redis:7.2-alpine";
/** How long a Redis server may take to answer PING after launch. */
export const DEFAULT_REDIS_READY_TIMEOUT_MS = 10_000;

export interface StartRedisOptions {
  /** "auto" (default, or env CCS_TEST_INFRA): container when a runtime is reachable, else local. */
  readonly mode?: RequestedInfraMode;
  /** Fixed port. Default: a free port. */
  readonly port?: number;
  /** Working dir (`--dir`, local mode). Default: a new temp dir, removed on dispose. A given dir is kept. */
  readonly dataDir?: string;
  /** Extra redis-server arguments, appended (e.g. ["--maxmemory", "10mb"]). */
  readonly extraArgs?: readonly string[];
  /** Readiness deadline per start. Default {@link DEFAULT_REDIS_READY_TIMEOUT_MS}. */
  readonly readyTimeoutMs?: number;
  /** Receives lifecycle changes. Default: silent. */
  readonly logger?: TestkitLogger;
}

/** Persistence off: every start is an empty Redis (tests that need data across restarts use NATS). */
const BASE_ARGS = [
  "--save",
  "",
  "--appendonly",
  "no",
  "--daemonize",
  "no",
  "--protected-mode",
  "no",
] as const;

/**
 * Starts a Redis server and resolves once it answers PING. Locally it runs
 * `redis-server --port P --bind 127.0.0.1 --save "" --appendonly no --dir TMP --daemonize no --protected-mode no`.
 */
export async function startRedis(options: StartRedisOptions = {}): Promise<ServerHandle> {
  validatePort(options.port, "startRedis");
  validateTimeout(options.readyTimeoutMs, "startRedis");
  const extraArgs = [...(options.extraArgs ?? [])];
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_REDIS_READY_TIMEOUT_MS;
  const logger = options.logger ?? SILENT_LOGGER;
  const mode = await resolveInfraMode(options.mode);
  if (mode === "container") {
    return launchServer({
      kind: "redis",
      port: options.port,
      readyTimeoutMs,
      logger,
      createBackend: (port) =>
        ContainerBackend.create({
          image: process.env.CCS_REDIS_IMAGE ?? DEFAULT_REDIS_IMAGE,
          containerPort: 6379,
          hostPort: port,
          command: ["redis-server", ...BASE_ARGS, ...extraArgs],
          readyLog: /Ready to accept connections/,
        }),
      probe: (backend) => () => probeRedis(backend.host, backend.port),
    });
  }
  const binary = await findBinary(REDIS_SERVER_BINARY);
  const givenDir = options.dataDir;
  return launchServer({
    kind: "redis",
    port: options.port,
    readyTimeoutMs,
    logger,
    createBackend: async (port) => {
      let dir: string;
      const ownedDirs: string[] = [];
      if (givenDir !== undefined) {
        dir = givenDir;
        await mkdir(dir, { recursive: true });
      } else {
        dir = await mkdtemp(join(tmpdir(), "ccs-redis-"));
        ownedDirs.push(dir);
      }
      return new LocalBackend({
        binary,
        host: DEFAULT_HOST,
        port,
        ownedDirs,
        dataDir: dir,
        args: ["--port", String(port), "--bind", DEFAULT_HOST, ...BASE_ARGS, "--dir", dir, ...extraArgs],
      });
    },
    probe: (backend) => () => probeRedis(backend.host, backend.port),
  });
}
