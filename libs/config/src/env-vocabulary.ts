// The one environment vocabulary of every service. A variable means the same thing wherever it is read;
// each service binds the ones it reads to paths of its schema (see its config file). Conventions:
// CCS_ prefix; durations end in _MS; lists are comma-separated; booleans are true/false (also 1/0,
// yes/no); an empty value counts as unset. docs/configuration.md lists them (a test keeps it complete).

export type EnvKind = "string" | "int" | "number" | "bool" | "list" | "json";

/** name → [kind, what it sets]. */
export const ENV_VARS = {
  CCS_CONFIG: ["string", "path of the service's JSON config file (worker, coordinator, emulator)"],
  CCS_LOG_LEVEL: ["string", "fatal, error, warn, info (default), debug, trace or silent"],
  CCS_TRACES_EXPORTER: ["string", "none (default), otlp or console"],
  CCS_METRICS_EXPORTER: ["string", "none (default), otlp or console"],
  CCS_METRICS_EXPORT_INTERVAL_MS: ["int", "metrics push period"],
  OTEL_EXPORTER_OTLP_ENDPOINT: ["string", "OTLP/HTTP collector base URL"],
  CCS_SERVICE_VERSION: ["string", "service.version resource attribute"],
  CCS_SERVICE_ID: ["string", "this process's id in logs, outcomes and Redis (default <hostname>-<pid>)"],
  CCS_NATS_SERVERS: ["list", "NATS server URLs"],
  NATS_USER: ["string", "NATS user (with NATS_PASS)"],
  NATS_PASS: ["string", "NATS password (secret)"],
  NATS_TOKEN: ["string", "NATS token (secret)"],
  NATS_CREDS_FILE: ["string", "NATS credentials file"],
  CCS_SUBJECT_PREFIX: ["string", "subject prefix shared by the whole cluster"],
  CCS_STREAM_REPLICAS: ["int", "replicas of the streams this service creates"],
  CCS_STREAM_STORAGE: ["string", "file or memory, for the streams the worker creates"],
  CCS_DUPLICATE_WINDOW_MS: ["int", "JetStream de-duplication window of the worker's streams"],
  CCS_OUTCOME_MAX_AGE_MS: ["int", "how long outcomes are kept"],
  CCS_ACK_WAIT_MS: ["int", "ack wait of the down consumers"],
  CCS_MAX_DELIVERIES: ["int", "deliveries before MAX_DELIVERIES_EXCEEDED"],
  CCS_SENDERS: ["json", "senders inline, as in the senders file"],
  CCS_SENDERS_FILE: ["string", "senders file (hot-reloaded)"],
  CCS_SENDERS_RELOAD_INTERVAL_MS: ["int", "senders file re-read period"],
  CCS_REDIS_URLS: [
    "list",
    "independent Redis nodes (an odd number); on the worker it turns on coordinated mode",
  ],
  CCS_REDIS_KEY_PREFIX: ["string", "Redis key prefix shared by the whole cluster"],
  CCS_REDIS_COMMAND_TIMEOUT_MS: ["int", "Redis command timeout"],
  CCS_WORKER_TTL_MS: ["int", "a worker is dead this long after its last heartbeat (same on every process)"],
  CCS_WORKER_CAPACITY: ["int", "most slots a worker holds"],
  CCS_SLOT_LEASE_TTL_MS: ["int", "TTL of a slot's lock"],
  CCS_LEADER_TTL_MS: ["int", "leader lease TTL"],
  CCS_ASSIGN_INTERVAL_MS: ["int", "how often the leader recomputes the assignment"],
  CCS_DRAIN_REPLACEMENT_FAILURES: ["int", "failed replacements after which a slot moves"],
  CCS_DEDUPE_WINDOW_MS: ["int", "upstream de-duplication window"],
  CCS_UPSTREAM_MAX_IN_FLIGHT: ["int", "upstream messages processed at once per coordinator"],
  CCS_UPSTREAM_ACK_WAIT_MS: ["int", "ack wait of the internal upstream consumer"],
  CCS_HOST: ["string", "CCS host the worker connects to"],
  CCS_PORT: ["int", "CCS port (the worker's target; the emulator's listener)"],
  CCS_CA_FILE: ["string", "CA (PEM) that signs the CCS server certificate"],
  CCS_TLS_VERIFY: ["bool", "verify the CCS server certificate"],
  CCS_SERVERNAME: ["string", "TLS server name (SNI) for CCS"],
  CCS_WINDOW_SIZE: ["int", "pending window per CCS connection"],
  CCS_ANSWER_TIMEOUT_MS: ["int", "a sent message with no ACK/NACK after this counts as lost"],
  CCS_HTTP_HOST: [
    "string",
    "address of the service's /healthz, /readyz, /status (and the emulator's admin API)",
  ],
  CCS_HTTP_PORT: ["int", "port of that HTTP server (0: a free one)"],
  CCS_SHUTDOWN_GRACE_MS: ["int", "time to finish in-flight work on SIGTERM"],
  CCS_SHUTDOWN_FORCE_MS: ["int", "hard deadline of a shutdown"],
  CCS_EMULATOR_HOST: ["string", "emulator listener address"],
  CCS_EMULATOR_SEED: ["int", "seed of every random choice of the emulator"],
  CCS_EMULATOR_TLS_CERT: ["string", "emulator certificate (PEM file)"],
  CCS_EMULATOR_TLS_KEY: ["string", "emulator key (PEM file)"],
  CCS_EMULATOR_CERT_OUT: ["string", "where the emulator writes its certificate for clients"],
  CCS_EMULATOR_PENDING_LIMIT: ["int", "pending window the emulator enforces"],
  CCS_EMULATOR_STRICT_PENDING_LIMIT: ["bool", "close a connection that exceeds the window"],
} as const satisfies Record<string, readonly [EnvKind, string]>;

export type EnvName = keyof typeof ENV_VARS;

/** A service's bindings: variable → dotted path of its config input. */
export type EnvBindings = Partial<Record<EnvName, string>>;

export function envKind(name: EnvName): EnvKind {
  return ENV_VARS[name][0];
}
