// Defaults that two processes must agree on, each defined once. A service's config may override them,
// but every process of a cluster must then be given the same value.

/** Subject prefix: `ccs.down.<sender>`, `ccs.out.<sender>`, ... (producers, workers, coordinators, consumers). */
export const DEFAULT_SUBJECT_PREFIX = "ccs";

/** Redis key prefix of the cluster's coordination keys (workers and coordinators). */
export const DEFAULT_KEY_PREFIX = "ccs:";

/**
 * A worker is considered dead this long after its last heartbeat: the worker heartbeats well within it,
 * the leader reassigns its slots after it.
 */
export const DEFAULT_WORKER_TTL_MS = 10_000;

/** Pending window per CCS connection: 100 un-answered downstream messages (reference 000, 001). */
export const DEFAULT_WINDOW_SIZE = 100;

/** Durable consumer names on the down stream are `<prefix>-<sender>`, shared by every worker. */
export const DEFAULT_WORKER_CONSUMER_PREFIX = "ccs-worker";

/**
 * The internal upstream stream (`<PREFIX>_INTERNAL_UP`): workers own its settings; a coordinator that
 * starts first creates it with the same ones. Duplicate window (the worker's Nats-Msg-Id absorbs CCS
 * resending a message) and how long records wait for a coordinator.
 */
export const DEFAULT_INTERNAL_UP_DUPLICATE_WINDOW_MS = 120_000;
export const DEFAULT_INTERNAL_UP_MAX_AGE_MS = 24 * 3600_000;
