/**
 * The one validating step: WorkerConfigInput -> WorkerConfig. Collects every problem (with its
 * path) and throws one ConfigError; rejects conflicting options; never mutates the input.
 * API keys are read here (file or env) and wrapped in Secret; their values never appear in errors.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { defaultStreamNames } from "@ccs/contract";
import { redactUrlCredentials, Secret } from "@ccs/telemetry";
import { type BackoffPolicy, DEFAULT_RETRY_POLICY } from "../pipeline/retry-policy.ts";
import * as D from "./defaults.ts";
import { ConfigError } from "./errors.ts";
import type {
  BackoffInput,
  ClusterConfig,
  SenderConfig,
  StorageType,
  StreamConfig,
  StreamInput,
  WorkerConfig,
  WorkerConfigInput,
} from "./worker-config.ts";

export interface ParseContext {
  /** Where apiKeyEnv is looked up; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Reads apiKeyFile; default fs.readFileSync(path, "utf8"). */
  readonly readFile?: (path: string) => string;
  readonly defaultWorkerId?: string;
}

/** NATS subject token / consumer name safe characters. */
const TOKEN_RE = /^[A-Za-z0-9_-]+$/;
const PREFIX_RE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }

  int(path: string, value: unknown, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      this.add(path, `must be an integer in [${min}, ${max}], got ${describe(value)}`);
      return fallback;
    }
    return value;
  }

  num(path: string, value: unknown, fallback: number, min: number, max: number): number {
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
      this.add(path, `must be a number in [${min}, ${max}], got ${describe(value)}`);
      return fallback;
    }
    return value;
  }

  str(path: string, value: unknown, fallback: string, re?: RegExp): string {
    if (value === undefined) return fallback;
    if (typeof value !== "string" || value.length === 0 || (re !== undefined && !re.test(value))) {
      this.add(
        path,
        `must be a non-empty string${re === undefined ? "" : ` matching ${re}`}, got ${describe(value)}`,
      );
      return fallback;
    }
    return value;
  }

  optStr(path: string, value: unknown): string | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== "string" || value.length === 0) {
      this.add(path, `must be a non-empty string, got ${describe(value)}`);
      return undefined;
    }
    return value;
  }

  bool(path: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") {
      this.add(path, `must be true or false, got ${describe(value)}`);
      return fallback;
    }
    return value;
  }
}

function describe(value: unknown): string {
  if (typeof value === "string")
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}

export function parseWorkerConfig(input: WorkerConfigInput, context: ParseContext = {}): WorkerConfig {
  const p = new Problems();
  const env = context.env ?? process.env;
  const readFile = context.readFile ?? defaultReadFile;
  if (typeof input !== "object" || input === null) throw new ConfigError(["config: must be an object"]);

  const workerId = p.str(
    "workerId",
    input.workerId,
    context.defaultWorkerId ?? `${hostname()}-${process.pid}`,
  );
  const nats = parseNats(p, input.nats ?? {});
  const subjectPrefix = p.str("subjectPrefix", input.subjectPrefix, D.DEFAULT_SUBJECT_PREFIX, PREFIX_RE);

  const streamsIn = input.streams ?? {};
  // Default stream names derive from the prefix by the contract's rule: "ccs" -> CCS_DOWN, CCS_OUTCOMES, CCS_INTERNAL_UP.
  const defaultNames = defaultStreamNames(
    PREFIX_RE.test(subjectPrefix) ? subjectPrefix : D.DEFAULT_SUBJECT_PREFIX,
  );
  const streams = {
    down: parseStream(p, "streams.down", streamsIn.down, defaultNames.down, D.DEFAULT_DOWN_MAX_AGE_MS),
    outcomes: parseStream(
      p,
      "streams.outcomes",
      streamsIn.outcomes,
      defaultNames.out,
      D.DEFAULT_OUTCOME_MAX_AGE_MS,
    ),
    upstream: parseStream(
      p,
      "streams.upstream",
      streamsIn.upstream,
      defaultNames.internalUp,
      D.DEFAULT_UPSTREAM_MAX_AGE_MS,
    ),
  };
  const names = [streams.down.name, streams.outcomes.name, streams.upstream.name];
  if (new Set(names).size !== names.length) {
    p.add("streams", `down, outcomes and upstream need three different names, got ${names.join(", ")}`);
  }

  const consumerIn = input.consumer ?? {};
  const consumer = {
    namePrefix: p.str("consumer.namePrefix", consumerIn.namePrefix, D.DEFAULT_CONSUMER_PREFIX, TOKEN_RE),
    ackWaitMs: p.int("consumer.ackWaitMs", consumerIn.ackWaitMs, D.DEFAULT_ACK_WAIT_MS, 3_000),
    maxAckPending: p.int("consumer.maxAckPending", consumerIn.maxAckPending, D.DEFAULT_MAX_ACK_PENDING, 1),
    maxDeliveries: p.int(
      "consumer.maxDeliveries",
      consumerIn.maxDeliveries,
      D.DEFAULT_MAX_DELIVERIES,
      1,
      1000,
    ),
  };

  const ccsIn = input.ccs ?? {};
  const ccsCaFile = p.optStr("ccs.caFile", ccsIn.caFile);
  const ccsServername = p.optStr("ccs.servername", ccsIn.servername);
  const ccs = {
    host: p.str("ccs.host", ccsIn.host, D.DEFAULT_CCS_HOST),
    port: p.int("ccs.port", ccsIn.port, D.DEFAULT_CCS_PORT, 1, 65535),
    ...(ccsCaFile === undefined ? {} : { caFile: ccsCaFile }),
    rejectUnauthorized: p.bool(
      "ccs.rejectUnauthorized",
      ccsIn.rejectUnauthorized,
      D.DEFAULT_CCS_REJECT_UNAUTHORIZED,
    ),
    ...(ccsServername === undefined ? {} : { servername: ccsServername }),
    domain: p.str("ccs.domain", ccsIn.domain, D.DEFAULT_CCS_DOMAIN),
  };
  if (ccsCaFile !== undefined && ccsIn.rejectUnauthorized === false) {
    p.add("ccs", "caFile is set but rejectUnauthorized is false: the CA would never be checked; drop one");
  }

  const connIn = input.connection ?? {};
  const connection = {
    windowSize: p.int("connection.windowSize", connIn.windowSize, D.DEFAULT_WINDOW_SIZE, 1, 1000),
    answerTimeoutMs: p.int(
      "connection.answerTimeoutMs",
      connIn.answerTimeoutMs,
      D.DEFAULT_ANSWER_TIMEOUT_MS,
      100,
    ),
    pingIntervalMs: p.int("connection.pingIntervalMs", connIn.pingIntervalMs, D.DEFAULT_PING_INTERVAL_MS, 0),
    reconnectInitialMs: p.int(
      "connection.reconnectInitialMs",
      connIn.reconnectInitialMs,
      D.DEFAULT_RECONNECT_INITIAL_MS,
      1,
    ),
    reconnectMaxMs: p.int("connection.reconnectMaxMs", connIn.reconnectMaxMs, D.DEFAULT_RECONNECT_MAX_MS, 1),
  };
  if (connection.reconnectMaxMs < connection.reconnectInitialMs) {
    p.add("connection", "reconnectMaxMs must be at least reconnectInitialMs");
  }

  const fetchIn = input.fetch ?? {};
  const fetch = {
    refillThreshold: p.num(
      "fetch.refillThreshold",
      fetchIn.refillThreshold,
      D.DEFAULT_REFILL_THRESHOLD,
      0,
      1,
    ),
    expiresMs: p.int("fetch.expiresMs", fetchIn.expiresMs, D.DEFAULT_FETCH_EXPIRES_MS, 1_000),
    maxQueueWaitMs: p.int("fetch.maxQueueWaitMs", fetchIn.maxQueueWaitMs, D.DEFAULT_MAX_QUEUE_WAIT_MS, 100),
  };

  const retryIn = input.retry ?? {};
  const R = DEFAULT_RETRY_POLICY;
  const retry = {
    serviceUnavailable: parseBackoff(
      p,
      "retry.serviceUnavailable",
      retryIn.serviceUnavailable,
      R.serviceUnavailable,
    ),
    deviceRate: parseBackoff(p, "retry.deviceRate", retryIn.deviceRate, R.deviceRate),
    internalError: parseBackoff(p, "retry.internalError", retryIn.internalError, R.internalError),
    drainingMaxRetries: p.int(
      "retry.drainingMaxRetries",
      retryIn.drainingMaxRetries,
      R.drainingMaxRetries,
      0,
      1000,
    ),
    lostMaxRetries: p.int("retry.lostMaxRetries", retryIn.lostMaxRetries, R.lostMaxRetries, 0, 1000),
    jitter: p.num("retry.jitter", retryIn.jitter, R.jitter, 0, 1),
  };

  const limits = {
    maxPayloadBytes: p.int(
      "limits.maxPayloadBytes",
      input.limits?.maxPayloadBytes,
      D.DEFAULT_MAX_PAYLOAD_BYTES,
      1024,
      64 * 1024 * 1024,
    ),
  };
  const shutdown = {
    graceMs: p.int("shutdown.graceMs", input.shutdown?.graceMs, D.DEFAULT_SHUTDOWN_GRACE_MS, 0),
    forceMs: p.int("shutdown.forceMs", input.shutdown?.forceMs, D.DEFAULT_SHUTDOWN_FORCE_MS, 1),
  };
  if (shutdown.forceMs <= shutdown.graceMs) {
    p.add("shutdown", `forceMs (${shutdown.forceMs}) must be greater than graceMs (${shutdown.graceMs})`);
  }
  const metricsLogIntervalMs = p.int(
    "metricsLogIntervalMs",
    input.metricsLogIntervalMs,
    D.DEFAULT_METRICS_LOG_INTERVAL_MS,
    0,
  );

  const senders = parseSenders(p, input.senders, env, readFile);
  const sendersFile = p.optStr("sendersFile", input.sendersFile);
  const cluster = parseCluster(p, input.cluster ?? {});
  const httpIn = input.http ?? {};
  const http = {
    host: p.str("http.host", httpIn.host, D.DEFAULT_HTTP_HOST),
    port: p.int("http.port", httpIn.port, D.DEFAULT_HTTP_PORT, 0, 65535),
  };
  const mode = cluster.redisUrls.length > 0 ? "coordinated" : "static";
  const totalWindows = senders.reduce((n, s) => Math.max(n, s.connections), 0) * connection.windowSize;
  if (senders.length > 0 && consumer.maxAckPending < totalWindows) {
    p.add(
      "consumer.maxAckPending",
      `(${consumer.maxAckPending}) is below one worker's windows for a sender (${totalWindows}): connections would idle`,
    );
  }

  if (p.list.length > 0) throw new ConfigError(p.list);
  return deepFreeze({
    workerId,
    mode,
    nats,
    subjectPrefix,
    streams,
    consumer,
    ccs,
    senders,
    ...(sendersFile === undefined ? {} : { sendersFile }),
    cluster,
    http,
    connection,
    fetch,
    retry,
    limits,
    shutdown,
    metricsLogIntervalMs,
  });
}

function parseNats(p: Problems, input: NonNullable<WorkerConfigInput["nats"]>): WorkerConfig["nats"] {
  let servers: string[] = [...D.DEFAULT_NATS_SERVERS];
  if (input.servers !== undefined) {
    const list = typeof input.servers === "string" ? input.servers.split(",") : [...input.servers];
    const cleaned = list.map((s) => (typeof s === "string" ? s.trim() : "")).filter((s) => s.length > 0);
    if (cleaned.length === 0) p.add("nats.servers", "must list at least one server");
    else servers = cleaned;
  }
  const user = p.optStr("nats.user", input.user);
  const pass = p.optStr("nats.pass", input.pass);
  const token = p.optStr("nats.token", input.token);
  const credsFile = p.optStr("nats.credsFile", input.credsFile);
  if ((user === undefined) !== (pass === undefined))
    p.add("nats", "user and pass go together: set both or neither");
  const methods = [user !== undefined, token !== undefined, credsFile !== undefined].filter(Boolean).length;
  if (methods > 1) p.add("nats", "choose one authentication method: user/pass, token or credsFile");
  return {
    servers,
    ...(user === undefined ? {} : { user }),
    ...(pass === undefined ? {} : { pass: new Secret(pass) }),
    ...(token === undefined ? {} : { token: new Secret(token) }),
    ...(credsFile === undefined ? {} : { credsFile }),
  };
}

const REDIS_URL_RE = /^rediss?:\/\/\S+$/;

function parseCluster(p: Problems, input: NonNullable<WorkerConfigInput["cluster"]>): ClusterConfig {
  let redisUrls: string[] = [];
  if (input.redisUrls !== undefined) {
    const list = typeof input.redisUrls === "string" ? input.redisUrls.split(",") : [...input.redisUrls];
    redisUrls = list.map((s) => (typeof s === "string" ? s.trim() : "")).filter((s) => s.length > 0);
    const bad = redisUrls.filter((u) => !REDIS_URL_RE.test(u));
    if (bad.length > 0)
      p.add(
        "cluster.redisUrls",
        `must be redis:// or rediss:// URLs, got ${describe(redactUrlCredentials(bad[0] ?? ""))}`,
      );
    if (redisUrls.length % 2 === 0 && redisUrls.length > 0) {
      p.add("cluster.redisUrls", `needs an odd number of independent Redis nodes, got ${redisUrls.length}`);
    }
  }
  const slotLeaseTtlMs = p.int(
    "cluster.slotLeaseTtlMs",
    input.slotLeaseTtlMs,
    D.DEFAULT_SLOT_LEASE_TTL_MS,
    2_000,
    600_000,
  );
  return {
    redisUrls,
    keyPrefix: p.str("cluster.keyPrefix", input.keyPrefix, D.DEFAULT_REDIS_KEY_PREFIX),
    capacity: p.int("cluster.capacity", input.capacity, D.DEFAULT_WORKER_CAPACITY, 1, 10_000),
    workerTtlMs: p.int("cluster.workerTtlMs", input.workerTtlMs, D.DEFAULT_WORKER_TTL_MS, 300, 600_000),
    slotLeaseTtlMs,
    healthReportIntervalMs: p.int(
      "cluster.healthReportIntervalMs",
      input.healthReportIntervalMs,
      D.DEFAULT_HEALTH_REPORT_INTERVAL_MS,
      100,
      60_000,
    ),
    replacementFailureLimit: p.int(
      "cluster.replacementFailureLimit",
      input.replacementFailureLimit,
      D.DEFAULT_REPLACEMENT_FAILURE_LIMIT,
      1,
      1000,
    ),
  };
}

function parseStream(
  p: Problems,
  path: string,
  input: StreamInput | undefined,
  defaultName: string,
  defaultMaxAgeMs: number,
): StreamConfig {
  const s = input ?? {};
  let storage: StorageType = D.DEFAULT_STREAM_STORAGE;
  if (s.storage !== undefined) {
    if (s.storage === "file" || s.storage === "memory") storage = s.storage;
    else p.add(`${path}.storage`, `must be "file" or "memory", got ${describe(s.storage)}`);
  }
  return {
    name: p.str(`${path}.name`, s.name, defaultName, TOKEN_RE),
    replicas: p.int(`${path}.replicas`, s.replicas, D.DEFAULT_STREAM_REPLICAS, 1, 5),
    storage,
    duplicateWindowMs: p.int(
      `${path}.duplicateWindowMs`,
      s.duplicateWindowMs,
      D.DEFAULT_DUPLICATE_WINDOW_MS,
      100,
    ),
    maxAgeMs: p.int(`${path}.maxAgeMs`, s.maxAgeMs, defaultMaxAgeMs, 0),
  };
}

function parseBackoff(
  p: Problems,
  path: string,
  input: BackoffInput | undefined,
  d: BackoffPolicy,
): BackoffPolicy {
  const b = input ?? {};
  const baseMs = p.int(`${path}.baseMs`, b.baseMs, d.baseMs, 1);
  const maxMs = p.int(`${path}.maxMs`, b.maxMs, Math.max(d.maxMs, baseMs), 1);
  const maxRetries = p.int(`${path}.maxRetries`, b.maxRetries, d.maxRetries, 0, 1000);
  if (maxMs < baseMs) p.add(path, `maxMs (${maxMs}) must be at least baseMs (${baseMs})`);
  return { baseMs, maxMs, maxRetries };
}

function parseSenders(
  p: Problems,
  input: WorkerConfigInput["senders"],
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string,
): SenderConfig[] {
  if (input === undefined) return [];
  if (!Array.isArray(input)) {
    p.add("senders", "must be an array");
    return [];
  }
  const seen = new Set<string>();
  const out: SenderConfig[] = [];
  input.forEach((raw: unknown, i: number) => {
    const path = `senders[${i}]`;
    if (typeof raw !== "object" || raw === null) {
      p.add(path, "must be an object");
      return;
    }
    const s = raw as Record<string, unknown>;
    const senderId = p.str(`${path}.senderId`, s.senderId, "", TOKEN_RE);
    if (s.senderId === undefined) p.add(`${path}.senderId`, "is required");
    if (senderId !== "" && seen.has(senderId)) p.add(`${path}.senderId`, `duplicate sender ${senderId}`);
    seen.add(senderId);
    const connections = p.int(
      `${path}.connections`,
      s.connections,
      D.DEFAULT_CONNECTIONS_PER_SENDER,
      1,
      1000,
    );
    const sources = (["apiKey", "apiKeyFile", "apiKeyEnv"] as const).filter((k) => s[k] !== undefined);
    if (sources.length !== 1) {
      p.add(
        path,
        `set exactly one of apiKey, apiKeyFile, apiKeyEnv (got ${sources.length === 0 ? "none" : sources.join(", ")})`,
      );
      return;
    }
    const key = resolveApiKey(p, path, s, env, readFile);
    if (key !== undefined && senderId !== "") out.push({ senderId, apiKey: new Secret(key), connections });
  });
  return out;
}

function resolveApiKey(
  p: Problems,
  path: string,
  s: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => string,
): string | undefined {
  if (s.apiKey !== undefined) {
    if (typeof s.apiKey !== "string" || s.apiKey.length === 0) {
      p.add(`${path}.apiKey`, "must be a non-empty string");
      return undefined;
    }
    return s.apiKey;
  }
  if (s.apiKeyFile !== undefined) {
    const file = p.optStr(`${path}.apiKeyFile`, s.apiKeyFile);
    if (file === undefined) return undefined;
    let text: string;
    try {
      text = readFile(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "read error";
      p.add(`${path}.apiKeyFile`, `cannot read ${file} (${code})`);
      return undefined;
    }
    const key = text.trim();
    if (key.length === 0) p.add(`${path}.apiKeyFile`, `${file} is empty`);
    return key.length === 0 ? undefined : key;
  }
  const name = p.optStr(`${path}.apiKeyEnv`, s.apiKeyEnv);
  if (name === undefined) return undefined;
  const key = env[name]?.trim();
  if (key === undefined || key.length === 0) {
    p.add(`${path}.apiKeyEnv`, `environment variable ${name} is not set or empty`);
    return undefined;
  }
  return key;
}

function defaultReadFile(path: string): string {
  return readFileSync(path, "utf8");
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !(value instanceof Secret) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
