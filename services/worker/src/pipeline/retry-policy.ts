/**
 * What to do with a message after one send: pure, data-driven from @ccs/ccs-protocol's NACK table.
 * SendResult + the retries already spent -> a final status, a retry (where, after how long), or a
 * hand-back to JetStream.
 */
import {
  DEFAULT_INTERNAL_ERROR_MAX_RETRIES,
  RetryClass,
  retryClassOf,
  SERVICE_UNAVAILABLE_INITIAL_BACKOFF_MS,
  type StanzaErrorInfo,
} from "@ccs/ccs-protocol";
import type { SendResult } from "../connection/contract.ts";

export interface BackoffPolicy {
  /** Delay before the first retry, ms. */
  readonly baseMs: number;
  /** Cap of the doubling delay, ms. */
  readonly maxMs: number;
  /** Retries allowed for this class; the next failure is final. */
  readonly maxRetries: number;
}

export interface RetryPolicyConfig {
  /** SERVICE_UNAVAILABLE: same connection, exponential backoff from 1 s. */
  readonly serviceUnavailable: BackoffPolicy;
  /** DEVICE_MESSAGE_RATE_EXCEEDED / QUOTA_EXCEEDED: retried slower to that device. */
  readonly deviceRate: BackoffPolicy;
  /** INTERNAL_SERVER_ERROR and unknown codes: bounded backoff. */
  readonly internalError: BackoffPolicy;
  /** CONNECTION_DRAINING: retried at once on another connection, at most this many times. */
  readonly drainingMaxRetries: number;
  /** `lost` results (connection closed / answer timeout): resent on another connection this many times. */
  readonly lostMaxRetries: number;
  /** Random spread of every delay, 0..1 (0.1 = +-10 %). */
  readonly jitter: number;
}

export const DEFAULT_SERVICE_UNAVAILABLE_BASE_MS = SERVICE_UNAVAILABLE_INITIAL_BACKOFF_MS;
export const DEFAULT_SERVICE_UNAVAILABLE_MAX_MS = 60_000;
export const DEFAULT_SERVICE_UNAVAILABLE_MAX_RETRIES = 8;
export const DEFAULT_DEVICE_RATE_BASE_MS = 5_000;
export const DEFAULT_DEVICE_RATE_MAX_MS = 120_000;
export const DEFAULT_DEVICE_RATE_MAX_RETRIES = 5;
export const DEFAULT_INTERNAL_ERROR_BASE_MS = 1_000;
export const DEFAULT_INTERNAL_ERROR_MAX_MS = 30_000;
export { DEFAULT_INTERNAL_ERROR_MAX_RETRIES };
export const DEFAULT_DRAINING_MAX_RETRIES = 10;
export const DEFAULT_LOST_MAX_RETRIES = 5;
export const DEFAULT_RETRY_JITTER = 0.1;

export const DEFAULT_RETRY_POLICY: RetryPolicyConfig = Object.freeze({
  serviceUnavailable: {
    baseMs: DEFAULT_SERVICE_UNAVAILABLE_BASE_MS,
    maxMs: DEFAULT_SERVICE_UNAVAILABLE_MAX_MS,
    maxRetries: DEFAULT_SERVICE_UNAVAILABLE_MAX_RETRIES,
  },
  deviceRate: {
    baseMs: DEFAULT_DEVICE_RATE_BASE_MS,
    maxMs: DEFAULT_DEVICE_RATE_MAX_MS,
    maxRetries: DEFAULT_DEVICE_RATE_MAX_RETRIES,
  },
  internalError: {
    baseMs: DEFAULT_INTERNAL_ERROR_BASE_MS,
    maxMs: DEFAULT_INTERNAL_ERROR_MAX_MS,
    maxRetries: DEFAULT_INTERNAL_ERROR_MAX_RETRIES,
  },
  drainingMaxRetries: DEFAULT_DRAINING_MAX_RETRIES,
  lostMaxRetries: DEFAULT_LOST_MAX_RETRIES,
  jitter: DEFAULT_RETRY_JITTER,
});

/** Why a message is retried: one counter per reason, each bounded separately. */
export type RetryReason = "service-unavailable" | "draining" | "device-rate" | "internal-error" | "lost";

export type RetryCounts = Readonly<Partial<Record<RetryReason, number>>>;

/**
 * Where a retry goes: pinned to the connection that answered, to any connection but that one,
 * or to any connection at all.
 */
export type RetryRoute = "same-connection" | "other-connection" | "any-connection";

export type RetryDecision =
  | { readonly kind: "acked"; readonly canonicalRegistrationId?: string }
  | {
      readonly kind: "nacked";
      readonly code: string;
      readonly description?: string;
      readonly retries: number;
    }
  | { readonly kind: "stanza-error"; readonly error: StanzaErrorInfo }
  | {
      readonly kind: "retry";
      readonly reason: RetryReason;
      readonly route: RetryRoute;
      readonly delayMs: number;
      /** The NACK code that caused it, when one did. */
      readonly code?: string;
    }
  /** Lost too often in this worker: give the message back to JetStream (nak) for another delivery. */
  | { readonly kind: "release"; readonly reason: "lost-limit" };

/** Doubling delay for the n-th retry (n from 0), capped, with +-jitter. random() in [0, 1). */
export function backoffDelay(policy: BackoffPolicy, n: number, jitter: number, random: () => number): number {
  const raw = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(n, 30));
  if (jitter <= 0) return raw;
  return Math.max(0, Math.round(raw * (1 + jitter * (2 * random() - 1))));
}

/**
 * Decides what follows one send. `retries` holds the retries already spent per reason.
 * The caller adds 1 to `retries[decision.reason]` when it acts on a retry.
 */
export function decide(
  result: SendResult,
  retries: RetryCounts,
  policy: RetryPolicyConfig,
  random: () => number = Math.random,
): RetryDecision {
  switch (result.kind) {
    case "ack":
      return result.canonicalRegistrationId === undefined
        ? { kind: "acked" }
        : { kind: "acked", canonicalRegistrationId: result.canonicalRegistrationId };
    case "stanza-error":
      return { kind: "stanza-error", error: result.error };
    case "lost": {
      const spent = retries.lost ?? 0;
      if (spent >= policy.lostMaxRetries) return { kind: "release", reason: "lost-limit" };
      return { kind: "retry", reason: "lost", route: "other-connection", delayMs: 0 };
    }
    case "nack":
      return decideNack(result.code, result.description, retries, policy, random);
  }
}

function decideNack(
  code: string,
  description: string | undefined,
  retries: RetryCounts,
  policy: RetryPolicyConfig,
  random: () => number,
): RetryDecision {
  const total = totalRetries(retries);
  const final = (): RetryDecision =>
    description === undefined
      ? { kind: "nacked", code, retries: total }
      : { kind: "nacked", code, description, retries: total };
  const retryClass = retryClassOf(code);
  switch (retryClass) {
    case RetryClass.None:
      return final();
    case RetryClass.OtherConnectionNow: {
      if ((retries.draining ?? 0) >= policy.drainingMaxRetries) return final();
      return { kind: "retry", reason: "draining", route: "other-connection", delayMs: 0, code };
    }
    case RetryClass.SameConnectionBackoff:
      return backoffRetry("service-unavailable", "same-connection", policy.serviceUnavailable);
    case RetryClass.SlowerToDevice:
      return backoffRetry("device-rate", "any-connection", policy.deviceRate);
    case RetryClass.BoundedBackoff:
      return backoffRetry("internal-error", "any-connection", policy.internalError);
  }

  function backoffRetry(reason: RetryReason, route: RetryRoute, backoff: BackoffPolicy): RetryDecision {
    const spent = retries[reason] ?? 0;
    if (spent >= backoff.maxRetries) return final();
    return {
      kind: "retry",
      reason,
      route,
      delayMs: backoffDelay(backoff, spent, policy.jitter, random),
      code,
    };
  }
}

export function totalRetries(retries: RetryCounts): number {
  let n = 0;
  for (const v of Object.values(retries)) n += v ?? 0;
  return n;
}
