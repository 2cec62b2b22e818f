// A fenced lease on one resource: a Redlock lock over N Redis nodes plus a fencing token, renewed in
// the background. Its validity is tracked on the monotonic clock from the moment the acquire/extend
// request was sent, minus Redlock's clock drift allowance, so `isValid()` turns false by itself when
// renewals stop succeeding — also after the process was frozen (SIGSTOP) past the deadline.

import { EventEmitter } from "node:events";
import { errorFields, type Logger, silentLogger } from "@ccs/telemetry";
import { ExecutionError, type Lock, Redlock, ResourceLockedError } from "@sesamecare-oss/redlock";
import { jittered, type MonotonicNow, monotonicNow } from "./clock.ts";
import { InvalidOptionError, LeaseExpiredError, LockBusyError, QuorumError } from "./errors.ts";
import { issueFencingToken } from "./fencing.ts";
import type { RedisNodes } from "./redis-nodes.ts";

export const DEFAULT_LEASE_TTL_MS = 15_000;
/** Redlock's allowance for clock drift between nodes, as a fraction of the TTL. */
export const DEFAULT_DRIFT_FACTOR = 0.01;

export interface LeaseOptions {
  readonly nodes: RedisNodes;
  /** Lock key (Redlock resource). */
  readonly resource: string;
  /** Counter key of the resource's fencing tokens. */
  readonly fenceKey: string;
  /** Default {@link DEFAULT_LEASE_TTL_MS}. */
  readonly ttlMs?: number;
  /** Renewal period. Default ttlMs / 3. */
  readonly renewIntervalMs?: number;
  /** Default {@link DEFAULT_DRIFT_FACTOR}. */
  readonly driftFactor?: number;
  readonly logger?: Logger;
  /** Monotonic clock; injectable for tests. */
  readonly now?: MonotonicNow;
}

interface ResolvedLeaseOptions {
  readonly nodes: RedisNodes;
  readonly resource: string;
  readonly fenceKey: string;
  readonly ttlMs: number;
  readonly renewIntervalMs: number;
  readonly driftMs: number;
  readonly logger: Logger;
  readonly now: MonotonicNow;
}

export function resolveLeaseOptions(options: LeaseOptions): ResolvedLeaseOptions {
  const ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  if (!Number.isInteger(ttlMs) || ttlMs < 100) {
    throw new InvalidOptionError(`lease ttlMs must be an integer >= 100 (got ${ttlMs})`);
  }
  const renewIntervalMs = options.renewIntervalMs ?? Math.floor(ttlMs / 3);
  if (!Number.isFinite(renewIntervalMs) || renewIntervalMs <= 0 || renewIntervalMs >= ttlMs / 2) {
    throw new InvalidOptionError(
      `lease renewIntervalMs must be > 0 and < ttlMs / 2 (got ${renewIntervalMs})`,
    );
  }
  const driftFactor = options.driftFactor ?? DEFAULT_DRIFT_FACTOR;
  if (!Number.isFinite(driftFactor) || driftFactor < 0 || driftFactor >= 0.5) {
    throw new InvalidOptionError(`lease driftFactor must be in [0, 0.5) (got ${driftFactor})`);
  }
  return {
    nodes: options.nodes,
    resource: options.resource,
    fenceKey: options.fenceKey,
    ttlMs,
    renewIntervalMs,
    // Same drift Redlock computes: factor * TTL, plus 2 ms for Redis expiry precision.
    driftMs: Math.round(driftFactor * ttlMs) + 2,
    logger: options.logger ?? silentLogger,
    now: options.now ?? monotonicNow,
  };
}

const redlocks = new WeakMap<RedisNodes, Redlock>();

function redlockFor(nodes: RedisNodes): Redlock {
  let redlock = redlocks.get(nodes);
  if (redlock === undefined) {
    redlock = new Redlock(nodes.clients, { retryCount: 0, retryDelay: 100, retryJitter: 50, driftFactor: 0 });
    // Redlock emits every per-node failure as 'error'; the outcome reaches us through the vote.
    redlock.on("error", () => undefined);
    redlocks.set(nodes, redlock);
  }
  return redlock;
}

/**
 * Renewal on one node: extends the lock where it holds our value (1) and takes it where the key is
 * missing (2); another owner's value (0) is left alone. Taking a missing key is safe: we hold a
 * majority elsewhere, so nobody else can. It repairs a lease that was acquired on a bare majority
 * (another candidate held a node for a moment) or whose key a restarted node lost: otherwise the loss
 * of one more node would end a lease that a majority of live nodes could hold.
 */
const EXTEND_OR_TAKE_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
`;

/** Turns Redlock's ExecutionError into LockBusyError (a majority voted "held") or QuorumError. */
async function classify(operation: string, resource: string, quorum: number, error: unknown): Promise<Error> {
  if (!(error instanceof ExecutionError)) {
    return error instanceof Error ? error : new Error(String(error));
  }
  const stats = await Promise.all(error.attempts);
  const last = stats.at(-1);
  if (last === undefined) {
    return new LeaseExpiredError(resource);
  }
  const against = [...last.votesAgainst.values()];
  const busy = against.filter((e) => e instanceof ResourceLockedError).length;
  if (busy >= quorum) {
    return new LockBusyError(resource, { cause: error });
  }
  return new QuorumError(operation, last.votesFor.size, quorum, against);
}

/**
 * Lifecycle: "held" (valid until `validUntil`, renewing) → "lost" (renewal failed until validity ran out,
 * or the lock was found taken) or "released" (release() called). Terminal states never change.
 */
export type LeaseState = "held" | "lost" | "released";
export type LeaseLossReason = "expired" | "taken";

export interface LeaseEvents {
  renewed: [validUntil: number];
  lost: [reason: LeaseLossReason];
}

export class Lease extends EventEmitter<LeaseEvents> {
  readonly resource: string;
  /** Fencing token: strictly greater than the token of every earlier holder of this resource. */
  readonly token: number;
  readonly #options: ResolvedLeaseOptions;
  #lock: Lock;
  #validUntil: number;
  #state: LeaseState = "held";
  #renewTimer: NodeJS.Timeout | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  #renewing = false;
  #releasing: Promise<void> | undefined;

  /**
   * Tries once to take the lock and a fencing token.
   * @throws LockBusyError when another owner holds it, QuorumError when too few nodes answered,
   *   LeaseExpiredError when the token arrived after the lock's validity ended.
   */
  static async acquire(options: LeaseOptions): Promise<Lease> {
    const resolved = resolveLeaseOptions(options);
    const redlock = redlockFor(resolved.nodes);
    const start = resolved.now();
    let lock: Lock;
    try {
      lock = await redlock.acquire([resolved.resource], resolved.ttlMs);
    } catch (error) {
      throw await classify(`acquire ${resolved.resource}`, resolved.resource, resolved.nodes.quorum, error);
    }
    const validUntil = start + resolved.ttlMs - resolved.driftMs;
    let token: number;
    try {
      token = await issueFencingToken(resolved.nodes, resolved.fenceKey);
      if (resolved.now() >= validUntil) {
        throw new LeaseExpiredError(resolved.resource);
      }
    } catch (error) {
      await redlock.release(lock).catch(() => undefined); // expires by itself at worst
      throw error;
    }
    return new Lease(resolved, lock, token, validUntil);
  }

  private constructor(options: ResolvedLeaseOptions, lock: Lock, token: number, validUntil: number) {
    super();
    this.#options = options;
    this.resource = options.resource;
    this.#lock = lock;
    this.token = token;
    this.#validUntil = validUntil;
    this.#scheduleRenew(options.renewIntervalMs);
    this.#armExpiry();
  }

  get state(): LeaseState {
    return this.#state;
  }

  /** Monotonic time (see `monotonicNow`) until which the lease is valid, as far as its owner can know. */
  get validUntil(): number {
    return this.#validUntil;
  }

  get ttlMs(): number {
    return this.#options.ttlMs;
  }

  /** True while held and the monotonic deadline has not passed. Check it before every fenced action. */
  isValid(): boolean {
    return this.#state === "held" && this.#options.now() < this.#validUntil;
  }

  remainingMs(): number {
    return this.#state === "held" ? Math.max(0, this.#validUntil - this.#options.now()) : 0;
  }

  /** The only writer of the state: held → lost | released, lost → released. */
  #setState(next: LeaseState, reason: string): void {
    if (this.#state === next || this.#state === "released") {
      return;
    }
    this.#options.logger.debug(
      { resource: this.resource, fencingToken: this.token, from: this.#state, to: next, reason },
      "lease state",
    );
    this.#state = next;
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#expiryTimer);
  }

  #lose(reason: LeaseLossReason): void {
    if (this.#state !== "held") {
      return;
    }
    this.#setState("lost", reason);
    this.emit("lost", reason);
  }

  #armExpiry(): void {
    clearTimeout(this.#expiryTimer);
    const ms = Math.max(0, this.#validUntil - this.#options.now());
    this.#expiryTimer = setTimeout(() => this.#checkExpiry(), ms + 1);
    this.#expiryTimer.unref();
  }

  #checkExpiry(): void {
    if (this.#state !== "held") {
      return;
    }
    if (this.#options.now() >= this.#validUntil) {
      this.#lose("expired");
    } else {
      this.#armExpiry();
    }
  }

  #scheduleRenew(ms: number): void {
    clearTimeout(this.#renewTimer);
    this.#renewTimer = setTimeout(() => void this.#renew(), ms);
    this.#renewTimer.unref();
  }

  async #renew(): Promise<void> {
    if (this.#state !== "held" || this.#renewing) {
      return;
    }
    this.#renewing = true;
    const { nodes, ttlMs, driftMs, now, logger, renewIntervalMs } = this.#options;
    const start = now();
    try {
      if (start >= this.#validUntil) {
        this.#lose("expired");
        return;
      }
      await this.#extendOrTake(ttlMs);
      if (this.#state !== "held") {
        return; // released meanwhile; release() deletes the keys with the same lock value
      }
      this.#validUntil = start + ttlMs - driftMs;
      this.#armExpiry();
      this.emit("renewed", this.#validUntil);
      this.#scheduleRenew(jittered(renewIntervalMs, 0.1));
    } catch (error) {
      if (this.#state !== "held") {
        return;
      }
      const classified = await classify(`extend ${this.resource}`, this.resource, nodes.quorum, error);
      if (classified instanceof LockBusyError) {
        logger.warn({ resource: this.resource, fencingToken: this.token }, "lease taken by another owner");
        this.#lose("taken");
        return;
      }
      const remaining = this.#validUntil - now();
      logger.warn(
        {
          resource: this.resource,
          fencingToken: this.token,
          remainingMs: remaining,
          ...errorFields(classified),
        },
        "lease renewal failed",
      );
      if (remaining <= 0) {
        this.#lose("expired");
        return;
      }
      // Keep trying until the deadline; the expiry timer ends the lease if none succeeds.
      this.#scheduleRenew(Math.min(jittered(renewIntervalMs / 4, 0.2), remaining));
    } finally {
      this.#renewing = false;
    }
  }

  /**
   * Extends the lock on every node that holds it and takes it on every node where it is missing
   * (EXTEND_OR_TAKE_SCRIPT). Resolves when a majority holds it now; LockBusyError when a majority holds
   * another owner's value; QuorumError otherwise.
   */
  async #extendOrTake(ttlMs: number): Promise<void> {
    const { nodes } = this.#options;
    const value = this.#lock.value;
    try {
      // Resolves once a majority holds it; the other nodes (a slow or dead one) finish in the background.
      await nodes.majority(`extend ${this.resource}`, async (client) => {
        const result = Number(
          await client.eval(EXTEND_OR_TAKE_SCRIPT, 1, this.resource, value, String(ttlMs)),
        );
        if (result === 0) throw new LockBusyError(this.resource);
        return result;
      });
    } catch (error) {
      const busy = error instanceof QuorumError ? error.errors.filter((e) => e instanceof LockBusyError) : [];
      if (busy.length >= nodes.quorum) throw new LockBusyError(this.resource, { cause: error });
      throw error;
    }
  }

  /** Idempotent: stops renewing and deletes the lock on every node still holding this lease's value. */
  release(): Promise<void> {
    this.#releasing ??= (async () => {
      // Delete even after "lost": a lease that merely failed to renew may still exist on the nodes.
      this.#setState("released", "release()");
      try {
        await redlockFor(this.#options.nodes).release(this.#lock);
      } catch (error) {
        // The lock expires by itself at its TTL; nothing else to do.
        this.#options.logger.warn(
          { resource: this.resource, ...errorFields(error) },
          "lease release incomplete",
        );
      }
    })();
    return this.#releasing;
  }
}
