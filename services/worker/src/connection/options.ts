// Slot/connection options in stages: user-facing optional fields with DEFAULT_* constants, one
// validating parse that yields a fully resolved, frozen config. The caller's object is never mutated.

import { DEFAULT_WINDOW_SIZE } from "@ccs/contract";
import { type Logger, silentLogger } from "@ccs/telemetry";
import type { BackoffOptions } from "./backoff.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { UpstreamSink } from "./contract.ts";
import { InvalidConnectionOptionError } from "./errors.ts";
import { type SecretLike, toSecret } from "./secret.ts";

/** The XMPP domain stays gcm.googleapis.com whatever host is dialled (ccs-facts: public clients broke otherwise). */
export const DEFAULT_DOMAIN = "gcm.googleapis.com";
/** CCS allows 100 un-answered downstream messages per connection (the contract's default). */
export { DEFAULT_WINDOW_SIZE };
export const DEFAULT_ANSWER_TIMEOUT_MS = 30_000;
export const DEFAULT_PING_INTERVAL_MS = 30_000;
export const DEFAULT_PING_TIMEOUT_MS = 15_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({
  initialMs: 1_000,
  maxMs: 60_000,
  jitter: 0.5,
});
/** Recycle a connection once more than this fraction of its window is held by timed-out ("ghost") sends. */
export const DEFAULT_RECYCLE_GHOST_FRACTION = 0.25;
/** A draining connection CCS has not closed after this long is closed by us (sends left settle as lost). */
export const DEFAULT_DRAIN_TIMEOUT_MS = 120_000;
/** Upper bound of one batched socket write. */
export const DEFAULT_MAX_BATCH_BYTES = 64 * 1024;
/** A connection that dies this soon after coming online counts as flapping (see slot's storm guard). */
export const DEFAULT_MIN_STABLE_MS = 1_000;
/** Post-auth losses in a row, each within minStableMs of coming online, before the slot backs off anyway. */
export const DEFAULT_MAX_QUICK_LOSSES = 3;

export interface ServiceOptions {
  readonly host: string;
  readonly port: number;
  /** PEM of the CA to trust instead of the system store (the emulator's certificate in tests). */
  readonly caPem?: string;
  /** Certificate verification; default true. Turning it off is logged as a warning. */
  readonly rejectUnauthorized?: boolean;
  /** TLS SNI / certificate host name; default `host` (omitted for IP addresses). */
  readonly servername?: string;
}

export interface SlotOptions {
  readonly senderId: string;
  /** The sender's API key (server key). A plain string is wrapped so it never reaches logs. */
  readonly apiKey: string | SecretLike;
  readonly slotIndex: number;
  readonly service: ServiceOptions;
  /** Takes every upstream message and receipt of the slot's connections (see {@link UpstreamSink}). */
  readonly upstream: UpstreamSink;
  /** XMPP domain; default {@link DEFAULT_DOMAIN}. */
  readonly domain?: string;
  /** Pending window per connection; default {@link DEFAULT_WINDOW_SIZE}. */
  readonly windowSize?: number;
  /** Time a send waits for its ACK/NACK before settling as lost/answer-timeout; default {@link DEFAULT_ANSWER_TIMEOUT_MS}. */
  readonly answerTimeoutMs?: number;
  /** Idle time after which the client sends an XMPP ping; default {@link DEFAULT_PING_INTERVAL_MS}; 0 disables. */
  readonly pingIntervalMs?: number;
  /** A ping without an answer for this long closes the connection; default {@link DEFAULT_PING_TIMEOUT_MS}. */
  readonly pingTimeoutMs?: number;
  /** TCP + TLS + SASL + bind must finish within this; default {@link DEFAULT_CONNECT_TIMEOUT_MS}. */
  readonly connectTimeoutMs?: number;
  /** Backoff before re-trying after a failure before authentication; default {@link DEFAULT_BACKOFF}. */
  readonly backoff?: Partial<BackoffOptions>;
  /** Default {@link DEFAULT_RECYCLE_GHOST_FRACTION}. */
  readonly recycleGhostFraction?: number;
  /** Default {@link DEFAULT_DRAIN_TIMEOUT_MS}. */
  readonly drainTimeoutMs?: number;
  /** Default {@link DEFAULT_MAX_BATCH_BYTES}. */
  readonly maxBatchBytes?: number;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Random source in [0, 1) for jitter; default Math.random. */
  readonly random?: () => number;
}

export interface ResolvedSlotOptions {
  readonly senderId: string;
  readonly apiKey: SecretLike;
  readonly slotIndex: number;
  readonly service: Required<Pick<ServiceOptions, "host" | "port" | "rejectUnauthorized">> &
    Pick<ServiceOptions, "caPem" | "servername">;
  readonly upstream: UpstreamSink;
  readonly domain: string;
  readonly windowSize: number;
  readonly answerTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly backoff: BackoffOptions;
  readonly recycleGhostFraction: number;
  readonly drainTimeoutMs: number;
  readonly maxBatchBytes: number;
  readonly minStableMs: number;
  readonly maxQuickLosses: number;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: () => number;
}

function fail(message: string): never {
  throw new InvalidConnectionOptionError(`connection slot options: ${message}`);
}

function int(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

function fraction(name: string, value: number, minExclusive: boolean): number {
  if (!Number.isFinite(value) || value > 1 || value < 0 || (minExclusive && value === 0)) {
    fail(`${name} must be a number in ${minExclusive ? "(0" : "[0"}, 1], got ${String(value)}`);
  }
  return value;
}

/** Validates and resolves slot options. Throws InvalidConnectionOptionError naming the bad field. */
export function parseSlotOptions(input: SlotOptions): ResolvedSlotOptions {
  if (typeof input.senderId !== "string" || !/^[^\s@/]+$/.test(input.senderId)) {
    fail("senderId must be a non-empty string without spaces, '@' or '/'");
  }
  const apiKey = toSecret(input.apiKey);
  if (typeof apiKey.reveal !== "function" || apiKey.reveal().length === 0) fail("apiKey must be non-empty");
  const service = input.service;
  if (service === undefined || typeof service.host !== "string" || service.host.length === 0) {
    fail("service.host must be a non-empty string");
  }
  if (typeof input.upstream !== "function") fail("upstream must be a function (the upstream sink)");
  const backoff: BackoffOptions = { ...DEFAULT_BACKOFF, ...input.backoff };
  int("backoff.initialMs", backoff.initialMs, 1);
  int("backoff.maxMs", backoff.maxMs, 1);
  if (backoff.maxMs < backoff.initialMs) fail("backoff.maxMs must be >= backoff.initialMs");
  fraction("backoff.jitter", backoff.jitter, false);
  const answerTimeoutMs = int("answerTimeoutMs", input.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS, 1);
  return Object.freeze({
    senderId: input.senderId,
    apiKey,
    slotIndex: int("slotIndex", input.slotIndex, 0),
    service: Object.freeze({
      host: service.host,
      port: int("service.port", service.port, 1, 65_535),
      rejectUnauthorized: service.rejectUnauthorized ?? true,
      ...(service.caPem !== undefined && { caPem: service.caPem }),
      ...(service.servername !== undefined && { servername: service.servername }),
    }),
    upstream: input.upstream,
    domain: input.domain ?? DEFAULT_DOMAIN,
    windowSize: int("windowSize", input.windowSize ?? DEFAULT_WINDOW_SIZE, 1),
    answerTimeoutMs,
    pingIntervalMs: int("pingIntervalMs", input.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS, 0),
    pingTimeoutMs: int("pingTimeoutMs", input.pingTimeoutMs ?? DEFAULT_PING_TIMEOUT_MS, 1),
    connectTimeoutMs: int("connectTimeoutMs", input.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, 1),
    backoff: Object.freeze(backoff),
    recycleGhostFraction: fraction(
      "recycleGhostFraction",
      input.recycleGhostFraction ?? DEFAULT_RECYCLE_GHOST_FRACTION,
      true,
    ),
    drainTimeoutMs: int("drainTimeoutMs", input.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS, 1),
    maxBatchBytes: int("maxBatchBytes", input.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES, 1024),
    minStableMs: DEFAULT_MIN_STABLE_MS,
    maxQuickLosses: DEFAULT_MAX_QUICK_LOSSES,
    logger: input.logger ?? silentLogger,
    clock: input.clock ?? systemClock,
    random: input.random ?? Math.random,
  });
}
