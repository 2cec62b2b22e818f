// Documented defaults of every coordinator option (see services/coordinator/README.md). Defaults the
// coordinator shares with the workers (worker TTL, the internal stream's settings) are @ccs/contract's.

export const DEFAULT_NATS_SERVERS = ["nats://127.0.0.1:4222"] as const;
export const DEFAULT_REDIS_URLS = ["redis://127.0.0.1:6379"] as const;
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 1_000;
export const DEFAULT_SENDERS_RELOAD_INTERVAL_MS = 10_000;
/** Leader lease TTL: leadership moves within this after the leader dies. */
export const DEFAULT_LEADER_TTL_MS = 10_000;
/** How often the leader recomputes the assignment (also on every sender change). */
export const DEFAULT_ASSIGN_INTERVAL_MS = 1_000;
/** A slot whose owner reports this many failed replacement attempts moves to another worker. */
export const DEFAULT_DRAIN_REPLACEMENT_FAILURES = 3;
/** Upstream de-duplication window (Redis key TTL). */
export const DEFAULT_DEDUPE_WINDOW_MS = 24 * 3600_000;
/** Upstream messages processed concurrently per coordinator (publishes in flight). */
export const DEFAULT_UPSTREAM_MAX_IN_FLIGHT = 256;
/** Ack wait of the shared internal upstream consumer. */
export const DEFAULT_UPSTREAM_ACK_WAIT_MS = 30_000;
/** Redelivery (nak) delay of an internal upstream message that could not be processed. */
export const DEFAULT_UPSTREAM_RETRY_DELAY_MS = 1_000;
export const DEFAULT_STREAM_REPLICAS = 1;
/** JetStream duplicate window of CCS_UP / CCS_RECEIPT: must exceed ack wait + retries (covers a crash between publish and the Redis write). */
export const DEFAULT_PUBLISH_DUPLICATE_WINDOW_MS = 10 * 60_000;
/** Retention of CCS_UP / CCS_RECEIPT for app servers. */
export const DEFAULT_PUBLISHED_MAX_AGE_MS = 7 * 24 * 3600_000;

export const DEFAULT_HTTP_HOST = "0.0.0.0";
export const DEFAULT_HTTP_PORT = 8090;
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
