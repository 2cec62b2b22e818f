import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findBinary, NATS_SERVER_BINARY } from "./binaries.ts";
import { ContainerBackend } from "./container-backend.ts";
import { type RequestedInfraMode, resolveInfraMode } from "./container-runtime.ts";
import { InvalidOptionError } from "./errors.ts";
import { DEFAULT_HOST } from "./free-port.ts";
import { launchServer } from "./launch-server.ts";
import { LocalBackend } from "./local-backend.ts";
import { SILENT_LOGGER, type TestkitLogger } from "./logger.ts";
import { probeNats } from "./probes.ts";
import type { ServerHandle } from "./server-handle.ts";
import { validatePort, validateTimeout } from "./validate.ts";

/** Image used in container mode; override with env `CCS_NATS_IMAGE`. */
export const DEFAULT_NATS_IMAGE = "nats:2.10";
/** How long a NATS server may take to answer after launch. */
export const DEFAULT_NATS_READY_TIMEOUT_MS = 15_000;
/** JetStream is on unless turned off. */
export const DEFAULT_NATS_JETSTREAM = true;

export interface StartNatsOptions {
  /** "auto" (default, or env CCS_TEST_INFRA): container when a runtime is reachable, else local. */
  readonly mode?: RequestedInfraMode;
  /** Enable JetStream (`-js`). Default {@link DEFAULT_NATS_JETSTREAM}. */
  readonly jetstream?: boolean;
  /** Fixed client port. Default: a free port. */
  readonly port?: number;
  /** JetStream store dir (local mode). Default: a new temp dir, removed on dispose. A given dir is never removed. */
  readonly storeDir?: string;
  /** Keep the temp store dir on dispose (for post-mortem). Default false. */
  readonly keepStore?: boolean;
  /** Extra nats-server arguments, appended. */
  readonly extraArgs?: readonly string[];
  /** Readiness deadline per start. Default {@link DEFAULT_NATS_READY_TIMEOUT_MS}. */
  readonly readyTimeoutMs?: number;
  /** Receives lifecycle changes. Default: silent. */
  readonly logger?: TestkitLogger;
}

interface ResolvedNatsOptions {
  readonly jetstream: boolean;
  readonly port: number | undefined;
  readonly storeDir: string | undefined;
  readonly keepStore: boolean;
  readonly extraArgs: readonly string[];
  readonly readyTimeoutMs: number;
  readonly logger: TestkitLogger;
}

function parseNatsOptions(options: StartNatsOptions): ResolvedNatsOptions {
  validatePort(options.port, "startNats");
  validateTimeout(options.readyTimeoutMs, "startNats");
  const jetstream = options.jetstream ?? DEFAULT_NATS_JETSTREAM;
  if (!jetstream && options.storeDir !== undefined) {
    throw new InvalidOptionError("startNats: storeDir given but jetstream is false");
  }
  return {
    jetstream,
    port: options.port,
    storeDir: options.storeDir,
    keepStore: options.keepStore ?? false,
    extraArgs: [...(options.extraArgs ?? [])],
    readyTimeoutMs: options.readyTimeoutMs ?? DEFAULT_NATS_READY_TIMEOUT_MS,
    logger: options.logger ?? SILENT_LOGGER,
  };
}

/**
 * Starts a NATS server (JetStream on by default) and resolves once a client can connect and, with
 * JetStream, `getAccountInfo()` answers. Locally it runs `nats-server -a 127.0.0.1 -p PORT -js -sd DIR`.
 */
export async function startNats(options: StartNatsOptions = {}): Promise<ServerHandle> {
  const resolved = parseNatsOptions(options);
  const mode = await resolveInfraMode(options.mode);
  const probe = (url: string) => () => probeNats(url, resolved.jetstream);
  if (mode === "container") {
    return launchServer({
      kind: "nats",
      port: resolved.port,
      readyTimeoutMs: resolved.readyTimeoutMs,
      logger: resolved.logger,
      createBackend: (port) =>
        ContainerBackend.create({
          image: process.env.CCS_NATS_IMAGE ?? DEFAULT_NATS_IMAGE,
          containerPort: 4222,
          hostPort: port,
          command: [...(resolved.jetstream ? ["-js", "-sd", "/data"] : []), ...resolved.extraArgs],
          readyLog: /Server is ready/,
        }),
      probe: (backend) => probe(`nats://${backend.host}:${backend.port}`),
    });
  }
  const binary = await findBinary(NATS_SERVER_BINARY);
  return launchServer({
    kind: "nats",
    port: resolved.port,
    readyTimeoutMs: resolved.readyTimeoutMs,
    logger: resolved.logger,
    createBackend: async (port) => {
      const ownedDirs: string[] = [];
      let storeDir: string | undefined;
      if (resolved.jetstream) {
        if (resolved.storeDir !== undefined) {
          storeDir = resolved.storeDir;
          await mkdir(storeDir, { recursive: true });
        } else {
          storeDir = await mkdtemp(join(tmpdir(), "ccs-nats-"));
          if (!resolved.keepStore) {
            ownedDirs.push(storeDir);
          }
        }
      }
      return new LocalBackend({
        binary,
        host: DEFAULT_HOST,
        port,
        ownedDirs,
        dataDir: storeDir,
        args: [
          "-a",
          DEFAULT_HOST,
          "-p",
          String(port),
          ...(storeDir !== undefined ? ["-js", "-sd", storeDir] : []),
          ...resolved.extraArgs,
        ],
      });
    },
    probe: (backend) => probe(`nats://${backend.host}:${backend.port}`),
  });
}
