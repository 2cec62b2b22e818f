// Coordinator configuration in two stages: CoordinatorConfigInput (an optional JSON file plus
// environment variables; every field optional) and CoordinatorConfig (resolved, validated, frozen),
// produced only by parseCoordinatorConfig. Environment variables override the file.

import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { parseSenders, type SenderConfig } from "@ccs/cluster";
import { DEFAULT_KEY_PREFIX, DEFAULT_SUBJECT_PREFIX, DEFAULT_WORKER_TTL_MS } from "@ccs/contract";
import { redactUrlCredentials } from "@ccs/telemetry";
import * as D from "./defaults.ts";
import { CoordinatorConfigError } from "./errors.ts";

export interface CoordinatorConfigInput {
  readonly coordinatorId?: string;
  readonly nats?: { readonly servers?: string | readonly string[] };
  readonly redis?: {
    readonly urls?: string | readonly string[];
    readonly keyPrefix?: string;
    readonly commandTimeoutMs?: number;
  };
  readonly subjectPrefix?: string;
  readonly streams?: {
    readonly internalUp?: string;
    readonly up?: string;
    readonly receipt?: string;
    readonly replicas?: number;
    readonly publishDuplicateWindowMs?: number;
    readonly publishedMaxAgeMs?: number;
  };
  /** Path of the senders file (hot-reloaded). Relative paths resolve against the config file. */
  readonly sendersFile?: string;
  /** Senders given inline (CCS_SENDERS); fixed for the process lifetime. */
  readonly senders?: unknown;
  readonly sendersReloadIntervalMs?: number;
  readonly leader?: { readonly ttlMs?: number; readonly assignIntervalMs?: number };
  readonly workers?: { readonly ttlMs?: number };
  readonly drain?: { readonly replacementFailures?: number };
  readonly upstream?: {
    readonly dedupeWindowMs?: number;
    readonly maxInFlight?: number;
    readonly ackWaitMs?: number;
    readonly retryDelayMs?: number;
  };
  readonly http?: { readonly host?: string; readonly port?: number };
  readonly shutdownTimeoutMs?: number;
}

export interface CoordinatorConfig {
  readonly coordinatorId: string;
  readonly natsServers: readonly string[];
  readonly redisUrls: readonly string[];
  readonly redisKeyPrefix: string;
  readonly redisCommandTimeoutMs: number;
  readonly subjectPrefix: string;
  readonly streams: {
    readonly internalUp: string | undefined;
    readonly up: string | undefined;
    readonly receipt: string | undefined;
    readonly replicas: number;
    readonly publishDuplicateWindowMs: number;
    readonly publishedMaxAgeMs: number;
  };
  readonly sendersFile: string | undefined;
  readonly inlineSenders: readonly SenderConfig[];
  readonly sendersReloadIntervalMs: number;
  readonly leaderTtlMs: number;
  readonly assignIntervalMs: number;
  readonly workerTtlMs: number;
  readonly drainReplacementFailures: number;
  readonly dedupeWindowMs: number;
  readonly upstreamMaxInFlight: number;
  readonly upstreamAckWaitMs: number;
  readonly upstreamRetryDelayMs: number;
  readonly httpHost: string;
  readonly httpPort: number;
  readonly shutdownTimeoutMs: number;
}

/** Environment variables read by {@link coordinatorInputFromEnv}. */
export const CoordinatorEnv = {
  configFile: "CCS_COORDINATOR_CONFIG",
  coordinatorId: "CCS_COORDINATOR_ID",
  natsServers: "CCS_NATS_SERVERS",
  redisUrls: "CCS_REDIS_URLS",
  redisKeyPrefix: "CCS_REDIS_KEY_PREFIX",
  redisCommandTimeoutMs: "CCS_REDIS_COMMAND_TIMEOUT_MS",
  subjectPrefix: "CCS_SUBJECT_PREFIX",
  streamReplicas: "CCS_STREAM_REPLICAS",
  sendersFile: "CCS_SENDERS_FILE",
  senders: "CCS_SENDERS",
  sendersReloadIntervalMs: "CCS_SENDERS_RELOAD_INTERVAL_MS",
  leaderTtlMs: "CCS_LEADER_TTL_MS",
  assignIntervalMs: "CCS_ASSIGN_INTERVAL_MS",
  workerTtlMs: "CCS_WORKER_TTL_MS",
  drainReplacementFailures: "CCS_DRAIN_REPLACEMENT_FAILURES",
  dedupeWindowMs: "CCS_DEDUPE_WINDOW_MS",
  upstreamMaxInFlight: "CCS_UPSTREAM_MAX_IN_FLIGHT",
  upstreamAckWaitMs: "CCS_UPSTREAM_ACK_WAIT_MS",
  httpHost: "CCS_HTTP_HOST",
  httpPort: "CCS_HTTP_PORT",
  shutdownTimeoutMs: "CCS_SHUTDOWN_TIMEOUT_MS",
} as const;

function env(e: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = e[name]?.trim();
  return v === undefined || v === "" ? undefined : v;
}

function envInt(e: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env(e, name);
  if (v === undefined) {
    return undefined;
  }
  const n = Number(v);
  if (!Number.isInteger(n)) {
    throw new CoordinatorConfigError(name, `must be an integer (got ${JSON.stringify(v)})`);
  }
  return n;
}

function list(v: string | undefined): string[] | undefined {
  return v === undefined
    ? undefined
    : v
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
}

function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** The environment's part of the input (only variables that are set). */
export function coordinatorInputFromEnv(e: NodeJS.ProcessEnv): CoordinatorConfigInput {
  const inline = env(e, CoordinatorEnv.senders);
  let senders: unknown;
  if (inline !== undefined) {
    try {
      senders = JSON.parse(inline);
    } catch (error) {
      throw new CoordinatorConfigError(CoordinatorEnv.senders, "is not valid JSON", { cause: error });
    }
  }
  return definedOnly({
    coordinatorId: env(e, CoordinatorEnv.coordinatorId),
    nats: definedOnly({ servers: list(env(e, CoordinatorEnv.natsServers)) }),
    redis: definedOnly({
      urls: list(env(e, CoordinatorEnv.redisUrls)),
      keyPrefix: env(e, CoordinatorEnv.redisKeyPrefix),
      commandTimeoutMs: envInt(e, CoordinatorEnv.redisCommandTimeoutMs),
    }),
    subjectPrefix: env(e, CoordinatorEnv.subjectPrefix),
    streams: definedOnly({ replicas: envInt(e, CoordinatorEnv.streamReplicas) }),
    sendersFile: env(e, CoordinatorEnv.sendersFile),
    senders,
    sendersReloadIntervalMs: envInt(e, CoordinatorEnv.sendersReloadIntervalMs),
    leader: definedOnly({
      ttlMs: envInt(e, CoordinatorEnv.leaderTtlMs),
      assignIntervalMs: envInt(e, CoordinatorEnv.assignIntervalMs),
    }),
    workers: definedOnly({ ttlMs: envInt(e, CoordinatorEnv.workerTtlMs) }),
    drain: definedOnly({ replacementFailures: envInt(e, CoordinatorEnv.drainReplacementFailures) }),
    upstream: definedOnly({
      dedupeWindowMs: envInt(e, CoordinatorEnv.dedupeWindowMs),
      maxInFlight: envInt(e, CoordinatorEnv.upstreamMaxInFlight),
      ackWaitMs: envInt(e, CoordinatorEnv.upstreamAckWaitMs),
    }),
    http: definedOnly({ host: env(e, CoordinatorEnv.httpHost), port: envInt(e, CoordinatorEnv.httpPort) }),
    shutdownTimeoutMs: envInt(e, CoordinatorEnv.shutdownTimeoutMs),
  });
}

/** File values first, environment on top (nested objects merge field by field). */
export function mergeInputs(
  file: CoordinatorConfigInput,
  fromEnv: CoordinatorConfigInput,
): CoordinatorConfigInput {
  const out: Record<string, unknown> = { ...file };
  for (const [k, v] of Object.entries(fromEnv)) {
    const base = out[k];
    out[k] =
      typeof v === "object" && v !== null && !Array.isArray(v) && typeof base === "object" && base !== null
        ? { ...(base as object), ...(v as object) }
        : v;
  }
  return out as CoordinatorConfigInput;
}

function int(
  field: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const v = value ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new CoordinatorConfigError(field, `must be an integer in [${min}, ${max}] (got ${String(v)})`);
  }
  return v;
}

function urls(
  field: string,
  value: string | readonly string[] | undefined,
  fallback: readonly string[],
  scheme: RegExp,
): string[] {
  const raw =
    value === undefined ? [...fallback] : typeof value === "string" ? (list(value) ?? []) : [...value];
  if (raw.length === 0) {
    throw new CoordinatorConfigError(field, "needs at least one URL");
  }
  for (const u of raw) {
    if (typeof u !== "string" || !scheme.test(u)) {
      throw new CoordinatorConfigError(
        field,
        `invalid URL ${JSON.stringify(typeof u === "string" ? redactUrlCredentials(u) : u)}`,
      );
    }
  }
  return raw;
}

/** Validates and resolves. `baseDir` resolves a relative senders file; `env` resolves apiKeyEnv. */
export async function parseCoordinatorConfig(
  input: CoordinatorConfigInput,
  options: { readonly baseDir?: string; readonly env?: NodeJS.ProcessEnv } = {},
): Promise<CoordinatorConfig> {
  const redisUrls = urls("redis.urls", input.redis?.urls, D.DEFAULT_REDIS_URLS, /^rediss?:\/\/[^\s]+$/);
  if (redisUrls.length % 2 === 0) {
    throw new CoordinatorConfigError(
      "redis.urls",
      "use an odd number of independent Redis nodes (1, 3, 5...)",
    );
  }
  const leaderTtlMs = int("leader.ttlMs", input.leader?.ttlMs, D.DEFAULT_LEADER_TTL_MS, 500);
  const redisCommandTimeoutMs = int(
    "redis.commandTimeoutMs",
    input.redis?.commandTimeoutMs,
    D.DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
    10,
  );
  if (redisCommandTimeoutMs >= leaderTtlMs / 3) {
    throw new CoordinatorConfigError("redis.commandTimeoutMs", "must be below a third of leader.ttlMs");
  }
  const upstreamAckWaitMs = int(
    "upstream.ackWaitMs",
    input.upstream?.ackWaitMs,
    D.DEFAULT_UPSTREAM_ACK_WAIT_MS,
    1_000,
  );
  const publishDuplicateWindowMs = int(
    "streams.publishDuplicateWindowMs",
    input.streams?.publishDuplicateWindowMs,
    D.DEFAULT_PUBLISH_DUPLICATE_WINDOW_MS,
    1_000,
  );
  if (publishDuplicateWindowMs <= 2 * upstreamAckWaitMs) {
    throw new CoordinatorConfigError(
      "streams.publishDuplicateWindowMs",
      "must exceed twice upstream.ackWaitMs (it covers a crash between publish and the Redis write)",
    );
  }
  const dedupeWindowMs = int(
    "upstream.dedupeWindowMs",
    input.upstream?.dedupeWindowMs,
    D.DEFAULT_DEDUPE_WINDOW_MS,
    1_000,
  );
  if (dedupeWindowMs < publishDuplicateWindowMs) {
    throw new CoordinatorConfigError(
      "upstream.dedupeWindowMs",
      "must be at least streams.publishDuplicateWindowMs",
    );
  }
  const baseDir = options.baseDir ?? process.cwd();
  const inlineSenders =
    input.senders === undefined
      ? []
      : await parseSenders(input.senders, CoordinatorEnv.senders, {
          baseDir,
          ...(options.env !== undefined ? { env: options.env } : {}),
        });
  const sendersFile = input.sendersFile === undefined ? undefined : resolve(baseDir, input.sendersFile);
  const httpHost = input.http?.host ?? D.DEFAULT_HTTP_HOST;
  const coordinatorId = input.coordinatorId ?? `${hostname()}-${process.pid}`;
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(coordinatorId)) {
    throw new CoordinatorConfigError("coordinatorId", "must be 1-128 letters, digits, '.', '_' or '-'");
  }
  return Object.freeze({
    coordinatorId,
    natsServers: urls(
      "nats.servers",
      input.nats?.servers,
      D.DEFAULT_NATS_SERVERS,
      /^(nats|tls|wss?):\/\/[^\s]+$/,
    ),
    redisUrls,
    redisKeyPrefix: input.redis?.keyPrefix ?? DEFAULT_KEY_PREFIX,
    redisCommandTimeoutMs,
    subjectPrefix: input.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX,
    streams: Object.freeze({
      internalUp: input.streams?.internalUp,
      up: input.streams?.up,
      receipt: input.streams?.receipt,
      replicas: int("streams.replicas", input.streams?.replicas, D.DEFAULT_STREAM_REPLICAS, 1, 5),
      publishDuplicateWindowMs,
      publishedMaxAgeMs: int(
        "streams.publishedMaxAgeMs",
        input.streams?.publishedMaxAgeMs,
        D.DEFAULT_PUBLISHED_MAX_AGE_MS,
        0,
      ),
    }),
    sendersFile,
    inlineSenders,
    sendersReloadIntervalMs: int(
      "sendersReloadIntervalMs",
      input.sendersReloadIntervalMs,
      D.DEFAULT_SENDERS_RELOAD_INTERVAL_MS,
      100,
    ),
    leaderTtlMs,
    assignIntervalMs: int(
      "leader.assignIntervalMs",
      input.leader?.assignIntervalMs,
      D.DEFAULT_ASSIGN_INTERVAL_MS,
      50,
    ),
    workerTtlMs: int("workers.ttlMs", input.workers?.ttlMs, DEFAULT_WORKER_TTL_MS, 100),
    drainReplacementFailures: int(
      "drain.replacementFailures",
      input.drain?.replacementFailures,
      D.DEFAULT_DRAIN_REPLACEMENT_FAILURES,
      1,
    ),
    dedupeWindowMs,
    upstreamMaxInFlight: int(
      "upstream.maxInFlight",
      input.upstream?.maxInFlight,
      D.DEFAULT_UPSTREAM_MAX_IN_FLIGHT,
      1,
      10_000,
    ),
    upstreamAckWaitMs,
    upstreamRetryDelayMs: int(
      "upstream.retryDelayMs",
      input.upstream?.retryDelayMs,
      D.DEFAULT_UPSTREAM_RETRY_DELAY_MS,
      0,
    ),
    httpHost,
    httpPort: int("http.port", input.http?.port, D.DEFAULT_HTTP_PORT, 0, 65_535),
    shutdownTimeoutMs: int("shutdownTimeoutMs", input.shutdownTimeoutMs, D.DEFAULT_SHUTDOWN_TIMEOUT_MS, 100),
  });
}

/** Reads CCS_COORDINATOR_CONFIG (if set), overlays the environment, validates. */
export async function loadCoordinatorConfig(e: NodeJS.ProcessEnv = process.env): Promise<CoordinatorConfig> {
  const file = env(e, CoordinatorEnv.configFile);
  let fromFile: CoordinatorConfigInput = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      throw new CoordinatorConfigError(CoordinatorEnv.configFile, `cannot read ${file}`, { cause: error });
    }
    try {
      fromFile = JSON.parse(text) as CoordinatorConfigInput;
    } catch (error) {
      throw new CoordinatorConfigError(CoordinatorEnv.configFile, `${file} is not valid JSON`, {
        cause: error,
      });
    }
  }
  const input = mergeInputs(fromFile, coordinatorInputFromEnv(e));
  // A relative sendersFile from the environment resolves against the working directory.
  const baseDir =
    file !== undefined && coordinatorInputFromEnv(e).sendersFile === undefined
      ? dirname(resolve(file))
      : process.cwd();
  return parseCoordinatorConfig(input, { baseDir, env: e });
}
