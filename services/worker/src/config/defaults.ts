/**
 * Documented defaults of every worker option (see services/worker/README.md). Defaults the worker shares
 * with other processes (subject prefix, window size, worker TTL, consumer prefix, the internal stream's
 * settings) are @ccs/contract's, re-exported here so that the config reads them in one place.
 */
import { DEFAULT_INTERNAL_UP_DUPLICATE_WINDOW_MS } from "@ccs/contract";

export {
  DEFAULT_INTERNAL_UP_MAX_AGE_MS as DEFAULT_UPSTREAM_MAX_AGE_MS,
  DEFAULT_KEY_PREFIX as DEFAULT_REDIS_KEY_PREFIX,
  DEFAULT_SUBJECT_PREFIX,
  DEFAULT_WINDOW_SIZE,
  DEFAULT_WORKER_CONSUMER_PREFIX as DEFAULT_CONSUMER_PREFIX,
  DEFAULT_WORKER_TTL_MS,
} from "@ccs/contract";

export const DEFAULT_NATS_SERVERS = ["nats://127.0.0.1:4222"] as const;

/** Stream names default to `<PREFIX>_DOWN`, `<PREFIX>_OUTCOMES`, `<PREFIX>_INTERNAL_UP`, derived from the
 * subject prefix in parse-config.ts (CCS_DOWN, CCS_OUTCOMES, CCS_INTERNAL_UP with prefix "ccs"). */
export const DEFAULT_STREAM_REPLICAS = 1;
export const DEFAULT_STREAM_STORAGE = "file";
/** JetStream de-duplication window (Nats-Msg-Id), all three streams (the contract's internal stream default). */
export const DEFAULT_DUPLICATE_WINDOW_MS = DEFAULT_INTERNAL_UP_DUPLICATE_WINDOW_MS;
/** Work messages waiting for a worker are kept this long (0 = until consumed). */
export const DEFAULT_DOWN_MAX_AGE_MS = 0;
/** Outcomes are kept a week for app servers to read. */
export const DEFAULT_OUTCOME_MAX_AGE_MS = 7 * 24 * 3600_000;

export const DEFAULT_ACK_WAIT_MS = 30_000;
/** Un-acked work messages per sender consumer, across all workers. */
export const DEFAULT_MAX_ACK_PENDING = 20_000;
/** A delivery beyond this count ends in a MAX_DELIVERIES_EXCEEDED outcome. */
export const DEFAULT_MAX_DELIVERIES = 5;

export const DEFAULT_CCS_HOST = "gcm.googleapis.com";
export const DEFAULT_CCS_PORT = 5235;
export const DEFAULT_CCS_DOMAIN = "gcm.googleapis.com";
export const DEFAULT_CCS_REJECT_UNAUTHORIZED = true;

export const DEFAULT_CONNECTIONS_PER_SENDER = 2;
export const DEFAULT_ANSWER_TIMEOUT_MS = 30_000;
export const DEFAULT_PING_INTERVAL_MS = 60_000;
export const DEFAULT_RECONNECT_INITIAL_MS = 1_000;
export const DEFAULT_RECONNECT_MAX_MS = 60_000;

/** A connection pulls more work once this fraction of its window is free. */
export const DEFAULT_REFILL_THRESHOLD = 0.25;
/** Lifetime of one JetStream pull request (nats.js minimum 1000). */
export const DEFAULT_FETCH_EXPIRES_MS = 10_000;
/** Work that finds no connection for this long goes back to JetStream. */
export const DEFAULT_MAX_QUEUE_WAIT_MS = 30_000;
/** Largest work message accepted (bytes); larger ones are rejected as PAYLOAD_TOO_LARGE. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024;

export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
export const DEFAULT_SHUTDOWN_FORCE_MS = 20_000;
export const DEFAULT_METRICS_LOG_INTERVAL_MS = 60_000;

/** Coordinated mode (CCS_REDIS_URLS set): must match the coordinator's. */
/** Most connections (slots) this worker holds in coordinated mode. */
export const DEFAULT_WORKER_CAPACITY = 16;
/** Heartbeat TTL of the worker's registration; must match the coordinator's CCS_WORKER_TTL_MS. */
/** TTL of a slot's Redis lock (renewed at a third of it). */
export const DEFAULT_SLOT_LEASE_TTL_MS = 15_000;
/** How often each owned slot's health (state, pending, drains) is reported to the coordinator. */
export const DEFAULT_HEALTH_REPORT_INTERVAL_MS = 2_000;
/** Consecutive failed replacement attempts after which a slot reports `cannotReplace`. */
export const DEFAULT_REPLACEMENT_FAILURE_LIMIT = 3;
/** Senders file re-read period (besides fs.watch), as the coordinator's. */
export const DEFAULT_SENDERS_RELOAD_INTERVAL_MS = 10_000;

/** The worker's own HTTP server: /healthz, /readyz, /status. Port 0 picks a free one. */
export const DEFAULT_HTTP_HOST = "0.0.0.0";
export const DEFAULT_HTTP_PORT = 8091;
