/**
 * Reads the worker configuration from an optional JSON file (CCS_WORKER_CONFIG) and environment
 * variables (which win over the file), then validates it with parseWorkerConfig.
 */
import { readFileSync } from "node:fs";
import { ConfigError } from "./errors.ts";
import { type ParseContext, parseWorkerConfig } from "./parse-config.ts";
import type { StreamInput, WorkerConfig, WorkerConfigInput } from "./worker-config.ts";

type Env = Readonly<Record<string, string | undefined>>;

/** Environment variables the worker reads (names documented in services/worker/README.md). */
export const ENV = {
  configFile: "CCS_WORKER_CONFIG",
  workerId: "CCS_WORKER_ID",
  natsServers: "CCS_NATS_SERVERS",
  natsUser: "NATS_USER",
  natsPass: "NATS_PASS",
  natsToken: "NATS_TOKEN",
  natsCredsFile: "NATS_CREDS_FILE",
  subjectPrefix: "CCS_SUBJECT_PREFIX",
  ccsHost: "CCS_HOST",
  ccsPort: "CCS_PORT",
  ccsCaFile: "CCS_CA_FILE",
  ccsTlsVerify: "CCS_TLS_VERIFY",
  ccsServername: "CCS_SERVERNAME",
  senders: "CCS_SENDERS",
  sendersFile: "CCS_SENDERS_FILE",
  redisUrls: "CCS_REDIS_URLS",
  redisKeyPrefix: "CCS_REDIS_KEY_PREFIX",
  workerCapacity: "CCS_WORKER_CAPACITY",
  workerTtlMs: "CCS_WORKER_TTL_MS",
  slotLeaseTtlMs: "CCS_SLOT_LEASE_TTL_MS",
  httpHost: "CCS_WORKER_HTTP_HOST",
  httpPort: "CCS_WORKER_HTTP_PORT",
  windowSize: "CCS_WINDOW_SIZE",
  answerTimeoutMs: "CCS_ANSWER_TIMEOUT_MS",
  streamReplicas: "CCS_STREAM_REPLICAS",
  streamStorage: "CCS_STREAM_STORAGE",
  duplicateWindowMs: "CCS_DUPLICATE_WINDOW_MS",
  outcomeMaxAgeMs: "CCS_OUTCOME_MAX_AGE_MS",
  ackWaitMs: "CCS_ACK_WAIT_MS",
  maxDeliveries: "CCS_MAX_DELIVERIES",
  shutdownGraceMs: "CCS_SHUTDOWN_GRACE_MS",
  shutdownForceMs: "CCS_SHUTDOWN_FORCE_MS",
} as const;

export function loadWorkerConfig(env: Env = process.env, context: ParseContext = {}): WorkerConfig {
  const problems: string[] = [];
  let file: WorkerConfigInput = {};
  const path = env[ENV.configFile];
  if (path !== undefined && path !== "") {
    try {
      file = JSON.parse(readFileSync(path, "utf8")) as WorkerConfigInput;
    } catch (err) {
      const reason =
        err instanceof SyntaxError ? "not valid JSON" : ((err as NodeJS.ErrnoException).code ?? "read error");
      throw new ConfigError([`${ENV.configFile}: cannot load ${path} (${reason})`], { cause: err });
    }
    if (typeof file !== "object" || file === null || Array.isArray(file)) {
      throw new ConfigError([`${ENV.configFile}: ${path} must hold a JSON object`]);
    }
  }
  const input = overlayEnv(file, env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return parseWorkerConfig(input, { env, ...context });
}

/** A new input object: the file's values with the environment's on top. */
function overlayEnv(file: WorkerConfigInput, env: Env, problems: string[]): WorkerConfigInput {
  const str = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v === "" ? undefined : v;
  };
  const int = (name: string): number | undefined => {
    const v = str(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) problems.push(`${name}: must be an integer, got ${JSON.stringify(v)}`);
    return n;
  };
  const bool = (name: string): boolean | undefined => {
    const v = str(name)?.toLowerCase();
    if (v === undefined) return undefined;
    if (v === "true" || v === "1" || v === "yes") return true;
    if (v === "false" || v === "0" || v === "no") return false;
    problems.push(`${name}: must be true or false, got ${JSON.stringify(v)}`);
    return undefined;
  };
  const json = (name: string): unknown => {
    const v = str(name);
    if (v === undefined) return undefined;
    try {
      return JSON.parse(v);
    } catch {
      problems.push(`${name}: must be JSON`);
      return undefined;
    }
  };
  const defined = <T extends object>(o: T): Partial<T> =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

  const streamEnv = defined({
    replicas: int(ENV.streamReplicas),
    storage: str(ENV.streamStorage) as StreamInput["storage"],
    duplicateWindowMs: int(ENV.duplicateWindowMs),
  });
  const streams = file.streams ?? {};
  return {
    ...file,
    ...defined({ workerId: str(ENV.workerId), subjectPrefix: str(ENV.subjectPrefix) }),
    nats: {
      ...file.nats,
      ...defined({
        servers: str(ENV.natsServers),
        user: str(ENV.natsUser),
        pass: str(ENV.natsPass),
        token: str(ENV.natsToken),
        credsFile: str(ENV.natsCredsFile),
      }),
    },
    streams: {
      down: { ...streams.down, ...streamEnv },
      outcomes: { ...streams.outcomes, ...streamEnv, ...defined({ maxAgeMs: int(ENV.outcomeMaxAgeMs) }) },
      upstream: { ...streams.upstream, ...streamEnv },
    },
    consumer: {
      ...file.consumer,
      ...defined({ ackWaitMs: int(ENV.ackWaitMs), maxDeliveries: int(ENV.maxDeliveries) }),
    },
    ccs: {
      ...file.ccs,
      ...defined({
        host: str(ENV.ccsHost),
        port: int(ENV.ccsPort),
        caFile: str(ENV.ccsCaFile),
        rejectUnauthorized: bool(ENV.ccsTlsVerify),
        servername: str(ENV.ccsServername),
      }),
    },
    connection: {
      ...file.connection,
      ...defined({ windowSize: int(ENV.windowSize), answerTimeoutMs: int(ENV.answerTimeoutMs) }),
    },
    shutdown: {
      ...file.shutdown,
      ...defined({ graceMs: int(ENV.shutdownGraceMs), forceMs: int(ENV.shutdownForceMs) }),
    },
    ...defined({
      senders: sendersList(json(ENV.senders)) as WorkerConfigInput["senders"],
      sendersFile: str(ENV.sendersFile),
    }),
    cluster: {
      ...file.cluster,
      ...defined({
        redisUrls: str(ENV.redisUrls),
        keyPrefix: str(ENV.redisKeyPrefix),
        capacity: int(ENV.workerCapacity),
        workerTtlMs: int(ENV.workerTtlMs),
        slotLeaseTtlMs: int(ENV.slotLeaseTtlMs),
      }),
    },
    http: { ...file.http, ...defined({ host: str(ENV.httpHost), port: int(ENV.httpPort) }) },
  };
}

/** CCS_SENDERS takes the coordinator's shape (`{ "senders": [...] }`) or a bare array. */
function sendersList(value: unknown): unknown {
  if (typeof value === "object" && value !== null && !Array.isArray(value) && "senders" in value) {
    return (value as { senders: unknown }).senders;
  }
  return value;
}
