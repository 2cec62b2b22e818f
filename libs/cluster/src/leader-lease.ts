// Leader election among coordinator replicas: every replica campaigns for the leader lease; the holder
// leads with its fencing token until the lease is lost or released.

import { EventEmitter } from "node:events";
import { errorFields, type Logger, silentLogger } from "@ccs/telemetry";
import { jittered, sleep } from "./clock.ts";
import { IllegalStateError, InvalidOptionError, LockBusyError } from "./errors.ts";
import type { KeySchema } from "./keys.ts";
import { DEFAULT_LEASE_TTL_MS, Lease, type LeaseLossReason } from "./lease.ts";
import type { RedisNodes } from "./redis-nodes.ts";

export const DEFAULT_LEADER_TTL_MS = 10_000;

export interface LeaderLeaseOptions {
  readonly nodes: RedisNodes;
  readonly keys: KeySchema;
  /** This replica's id (logs only). */
  readonly candidateId: string;
  /** Default {@link DEFAULT_LEADER_TTL_MS}. */
  readonly ttlMs?: number;
  /** Pause between campaign attempts while another replica leads. Default ttlMs / 5. */
  readonly retryIntervalMs?: number;
  readonly driftFactor?: number;
  readonly logger?: Logger;
}

/**
 * "idle" → start() → "campaigning" ⇄ "leading" → close() → "closed".
 */
export type LeaderState = "idle" | "campaigning" | "leading" | "closed";

export interface LeaderEvents {
  elected: [token: number];
  deposed: [reason: LeaseLossReason | "closed"];
}

export class LeaderLease extends EventEmitter<LeaderEvents> {
  readonly candidateId: string;
  readonly #nodes: RedisNodes;
  readonly #keys: KeySchema;
  readonly #ttlMs: number;
  readonly #retryIntervalMs: number;
  readonly #driftFactor: number | undefined;
  readonly #logger: Logger;
  readonly #abort = new AbortController();
  #state: LeaderState = "idle";
  #lease: Lease | undefined;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(options: LeaderLeaseOptions) {
    super();
    this.candidateId = options.candidateId;
    this.#nodes = options.nodes;
    this.#keys = options.keys;
    this.#ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    this.#retryIntervalMs = options.retryIntervalMs ?? Math.max(50, Math.floor(this.#ttlMs / 5));
    if (!Number.isFinite(this.#retryIntervalMs) || this.#retryIntervalMs <= 0) {
      throw new InvalidOptionError(`LeaderLease retryIntervalMs must be > 0 (got ${this.#retryIntervalMs})`);
    }
    this.#driftFactor = options.driftFactor;
    this.#logger = (options.logger ?? silentLogger).child({
      component: "leader-lease",
      candidateId: this.candidateId,
    });
  }

  get state(): LeaderState {
    return this.#state;
  }

  /** The current leader token, while this replica leads and its lease is valid. */
  get token(): number | undefined {
    return this.#lease?.isValid() === true ? this.#lease.token : undefined;
  }

  /** The lease while leading (its `isValid()` is the check to make before every leader action). */
  get lease(): Lease | undefined {
    return this.#lease;
  }

  isLeader(): boolean {
    return this.#state === "leading" && this.#lease?.isValid() === true;
  }

  #setState(next: LeaderState, reason: string): void {
    if (this.#state === next) {
      return;
    }
    this.#logger.info(
      { from: this.#state, to: next, reason, fencingToken: this.#lease?.token },
      "leader state",
    );
    this.#state = next;
  }

  start(): void {
    if (this.#state !== "idle") {
      throw new IllegalStateError("start leader lease", this.#state);
    }
    this.#setState("campaigning", "start()");
    this.#loop = this.#campaign();
  }

  async #campaign(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      if (this.#lease === undefined) {
        await this.#tryAcquire();
      }
      try {
        await new Promise<void>((resolve, reject) => {
          this.#wake = resolve;
          sleep(jittered(this.#retryIntervalMs), signal).then(resolve, reject);
        });
      } catch {
        return; // aborted by close()
      }
    }
  }

  async #tryAcquire(): Promise<void> {
    try {
      const lease = await Lease.acquire({
        nodes: this.#nodes,
        resource: this.#keys.leaderLock(),
        fenceKey: this.#keys.leaderFence(),
        ttlMs: this.#ttlMs,
        logger: this.#logger,
        ...(this.#driftFactor !== undefined ? { driftFactor: this.#driftFactor } : {}),
      });
      if (this.#abort.signal.aborted) {
        await lease.release();
        return;
      }
      this.#lease = lease;
      lease.once("lost", (reason) => {
        this.#lease = undefined;
        this.#setState("campaigning", `lease ${reason}`);
        this.emit("deposed", reason);
        this.#wake?.();
      });
      this.#setState("leading", "lease acquired");
      this.emit("elected", lease.token);
    } catch (error) {
      if (!(error instanceof LockBusyError)) {
        this.#logger.warn(errorFields(error), "leader campaign attempt failed");
      }
    }
  }

  /** Idempotent: stops campaigning and releases the lease (another replica takes over at once). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort();
      await this.#loop;
      const lease = this.#lease;
      this.#lease = undefined;
      const wasLeading = this.#state === "leading";
      this.#setState("closed", "close()");
      if (lease !== undefined) {
        lease.removeAllListeners("lost");
        await lease.release();
      }
      if (wasLeading) {
        this.emit("deposed", "closed");
      }
    })();
    return this.#closing;
  }
}
