/**
 * Worker configuration in two stages: WorkerConfigInput (what users write: a JSON file and/or env
 * variables, every field optional except `senders`) and WorkerConfig (fully resolved, validated,
 * frozen; produced only by parseWorkerConfig).
 */

import type { Secret } from "@ccs/telemetry";
import type { RetryPolicyConfig } from "../pipeline/retry-policy.ts";

export type StorageType = "file" | "memory";

export interface StreamInput {
  readonly name?: string;
  readonly replicas?: number;
  readonly storage?: StorageType;
  /** JetStream de-duplication window, ms. */
  readonly duplicateWindowMs?: number;
  /** Retention by age, ms; 0 keeps messages until consumed (down) or forever. */
  readonly maxAgeMs?: number;
}

export interface SenderInput {
  readonly senderId: string;
  /** Exactly one of apiKey, apiKeyFile, apiKeyEnv. */
  readonly apiKey?: string;
  readonly apiKeyFile?: string;
  readonly apiKeyEnv?: string;
  /** Connections (slots) this worker opens for the sender; default 2. */
  readonly connections?: number;
}

export interface BackoffInput {
  readonly baseMs?: number;
  readonly maxMs?: number;
  readonly maxRetries?: number;
}

export interface WorkerConfigInput {
  /** Identifies this worker in outcomes and logs; default `<hostname>-<pid>`. */
  readonly workerId?: string;
  readonly nats?: {
    readonly servers?: string | readonly string[];
    readonly user?: string;
    readonly pass?: string;
    readonly token?: string;
    readonly credsFile?: string;
  };
  readonly subjectPrefix?: string;
  readonly streams?: {
    readonly down?: StreamInput;
    readonly outcomes?: StreamInput;
    readonly upstream?: StreamInput;
  };
  readonly consumer?: {
    /** Durable consumer names are `<namePrefix>-<senderId>`. */
    readonly namePrefix?: string;
    readonly ackWaitMs?: number;
    readonly maxAckPending?: number;
    readonly maxDeliveries?: number;
  };
  readonly ccs?: {
    readonly host?: string;
    readonly port?: number;
    readonly caFile?: string;
    readonly rejectUnauthorized?: boolean;
    readonly servername?: string;
    readonly domain?: string;
  };
  readonly senders?: readonly SenderInput[];
  /**
   * Senders file in the coordinator's format (`{ "senders": [...] }`), read with @ccs/cluster's
   * SendersSource (hot reload); merged with `senders`.
   */
  readonly sendersFile?: string;
  /** Coordinated mode: set `redisUrls` and slots come from the coordinator. */
  readonly cluster?: {
    readonly redisUrls?: string | readonly string[];
    readonly keyPrefix?: string;
    readonly capacity?: number;
    readonly workerTtlMs?: number;
    readonly slotLeaseTtlMs?: number;
    readonly healthReportIntervalMs?: number;
    readonly replacementFailureLimit?: number;
  };
  readonly http?: { readonly host?: string; readonly port?: number };
  readonly connection?: {
    readonly windowSize?: number;
    readonly answerTimeoutMs?: number;
    readonly pingIntervalMs?: number;
    readonly reconnectInitialMs?: number;
    readonly reconnectMaxMs?: number;
  };
  readonly fetch?: {
    readonly refillThreshold?: number;
    readonly expiresMs?: number;
    readonly maxQueueWaitMs?: number;
  };
  readonly retry?: {
    readonly serviceUnavailable?: BackoffInput;
    readonly deviceRate?: BackoffInput;
    readonly internalError?: BackoffInput;
    readonly drainingMaxRetries?: number;
    readonly lostMaxRetries?: number;
    readonly jitter?: number;
  };
  readonly limits?: { readonly maxPayloadBytes?: number };
  readonly shutdown?: { readonly graceMs?: number; readonly forceMs?: number };
  readonly metricsLogIntervalMs?: number;
}

export interface StreamConfig {
  readonly name: string;
  readonly replicas: number;
  readonly storage: StorageType;
  readonly duplicateWindowMs: number;
  readonly maxAgeMs: number;
}

export interface SenderConfig {
  readonly senderId: string;
  readonly apiKey: Secret;
  readonly connections: number;
}

export interface NatsConfig {
  readonly servers: readonly string[];
  readonly user?: string;
  readonly pass?: Secret;
  readonly token?: Secret;
  readonly credsFile?: string;
}

/** `static`: every configured sender's connections; `coordinated`: slots granted by the coordinator. */
export type WorkerMode = "static" | "coordinated";

export interface ClusterConfig {
  /** Empty in static mode. */
  readonly redisUrls: readonly string[];
  readonly keyPrefix: string;
  readonly capacity: number;
  readonly workerTtlMs: number;
  readonly slotLeaseTtlMs: number;
  readonly healthReportIntervalMs: number;
  readonly replacementFailureLimit: number;
}

export interface WorkerConfig {
  readonly workerId: string;
  readonly mode: WorkerMode;
  readonly nats: NatsConfig;
  readonly subjectPrefix: string;
  readonly streams: {
    readonly down: StreamConfig;
    readonly outcomes: StreamConfig;
    readonly upstream: StreamConfig;
  };
  readonly consumer: {
    readonly namePrefix: string;
    readonly ackWaitMs: number;
    readonly maxAckPending: number;
    readonly maxDeliveries: number;
  };
  readonly ccs: {
    readonly host: string;
    readonly port: number;
    readonly caFile?: string;
    readonly rejectUnauthorized: boolean;
    readonly servername?: string;
    readonly domain: string;
  };
  readonly senders: readonly SenderConfig[];
  readonly sendersFile?: string;
  readonly cluster: ClusterConfig;
  readonly http: { readonly host: string; readonly port: number };
  readonly connection: {
    readonly windowSize: number;
    readonly answerTimeoutMs: number;
    readonly pingIntervalMs: number;
    readonly reconnectInitialMs: number;
    readonly reconnectMaxMs: number;
  };
  readonly fetch: {
    readonly refillThreshold: number;
    readonly expiresMs: number;
    readonly maxQueueWaitMs: number;
  };
  readonly retry: RetryPolicyConfig;
  readonly limits: { readonly maxPayloadBytes: number };
  readonly shutdown: { readonly graceMs: number; readonly forceMs: number };
  readonly metricsLogIntervalMs: number;
}
