// Worker side of slot ownership. Given the leader's desired assignment, it takes leases on the slots
// assigned to this worker, keeps them renewed, reports their health, and gives up slots assigned
// elsewhere make-before-break:
//   new owner: prepare(slot) (open the CCS connection) → write a claim → acquire the lease when free;
//   old owner: keeps its lease (traffic flows) until it sees the new owner's claim → `lost(slot,
//   "reassigned")` → releases the lock → the new owner's next attempt (every acquireRetryMs) gets it.
// Slots removed from the assignment altogether are released at once ("unassigned").

import { EventEmitter } from "node:events";
import { errorFields, type Logger, silentLogger } from "@ccs/telemetry";
import {
  type Assignment,
  type AssignmentStore,
  type AssignmentWatch,
  compareAssignments,
} from "./assignment-store.ts";
import { jittered } from "./clock.ts";
import { IllegalStateError, InvalidOptionError, LockBusyError } from "./errors.ts";
import type { KeySchema } from "./keys.ts";
import { DEFAULT_LEASE_TTL_MS, type Lease, type LeaseLossReason } from "./lease.ts";
import type { RedisNodes } from "./redis-nodes.ts";
import { acquireSlotLease } from "./slot-lease.ts";
import type { SlotHealth, SlotStatusStore } from "./slot-status.ts";
import type { SlotId } from "./slots.ts";

export const DEFAULT_ACQUIRE_RETRY_MS = 500;
export const DEFAULT_PREPARE_TIMEOUT_MS = 30_000;

export type SlotLossReason = LeaseLossReason | "reassigned" | "unassigned" | "closed";

export interface SlotOwnershipEvents {
  /** This worker now owns `slot`; carry `fencingToken` on everything published for it. */
  acquired: [slot: SlotId, fencingToken: number];
  /** Stop using `slot` now (emitted before the lock is released, or after it ran out). */
  lost: [slot: SlotId, reason: SlotLossReason];
  /** A prepared slot will not be acquired after all (assignment changed): close what prepare opened. */
  abandoned: [slot: SlotId];
}

export interface SlotOwnershipClientOptions {
  readonly nodes: RedisNodes;
  readonly keys: KeySchema;
  readonly workerId: string;
  /** Watched from start() when given; otherwise feed assignments with apply(). */
  readonly assignments?: AssignmentStore;
  /** Where reportHealth() writes; reportHealth() is a no-op without it. */
  readonly statusStore?: SlotStatusStore;
  /** Default {@link DEFAULT_LEASE_TTL_MS}. */
  readonly leaseTtlMs?: number;
  /** How often a claimed slot is tried and handovers are checked. Default {@link DEFAULT_ACQUIRE_RETRY_MS}. */
  readonly acquireRetryMs?: number;
  /**
   * Called once per assignment of a slot to this worker, before it claims the slot: open the CCS
   * connection here so it is up before the old owner lets go. A rejection is logged and retried.
   */
  readonly prepare?: (slot: SlotId, signal: AbortSignal) => Promise<void>;
  /** Default {@link DEFAULT_PREPARE_TIMEOUT_MS}. */
  readonly prepareTimeoutMs?: number;
  readonly logger?: Logger;
}

/** Per slot: "preparing" → "claiming" → "held" → ("handing-over" → gone) | (lost → "preparing"). */
type SlotPhase = "preparing" | "claiming" | "held" | "handing-over";

interface Tracked {
  readonly slot: SlotId;
  phase: SlotPhase;
  lease: Lease | undefined;
  abort: AbortController;
  preparing: Promise<void> | undefined;
  retryAt: number;
}

/** Lifecycle of the client. */
export type OwnershipClientState = "idle" | "running" | "closing" | "closed";

/** Deletes the claim only when it is still ours. */
const DELETE_CLAIM_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export class SlotOwnershipClient extends EventEmitter<SlotOwnershipEvents> {
  readonly workerId: string;
  readonly #nodes: RedisNodes;
  readonly #keys: KeySchema;
  readonly #store: AssignmentStore | undefined;
  readonly #statusStore: SlotStatusStore | undefined;
  readonly #ttlMs: number;
  readonly #retryMs: number;
  readonly #prepare: ((slot: SlotId, signal: AbortSignal) => Promise<void>) | undefined;
  readonly #prepareTimeoutMs: number;
  readonly #logger: Logger;
  readonly #tracked = new Map<SlotId, Tracked>();
  #assignment: Assignment | undefined;
  #state: OwnershipClientState = "idle";
  #watch: AssignmentWatch | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #tickAgain = false;
  #closing: Promise<void> | undefined;

  constructor(options: SlotOwnershipClientOptions) {
    super();
    this.workerId = options.workerId;
    this.#nodes = options.nodes;
    this.#keys = options.keys;
    this.#store = options.assignments;
    this.#statusStore = options.statusStore;
    this.#ttlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    this.#retryMs = options.acquireRetryMs ?? DEFAULT_ACQUIRE_RETRY_MS;
    if (!Number.isFinite(this.#retryMs) || this.#retryMs <= 0 || this.#retryMs >= this.#ttlMs / 3) {
      throw new InvalidOptionError(`acquireRetryMs must be > 0 and < leaseTtlMs / 3 (got ${this.#retryMs})`);
    }
    this.#prepare = options.prepare;
    this.#prepareTimeoutMs = options.prepareTimeoutMs ?? DEFAULT_PREPARE_TIMEOUT_MS;
    this.#logger = (options.logger ?? silentLogger).child({
      component: "slot-ownership",
      workerId: this.workerId,
    });
  }

  get state(): OwnershipClientState {
    return this.#state;
  }

  #setState(next: OwnershipClientState, reason: string): void {
    if (this.#state !== next) {
      this.#logger.info({ from: this.#state, to: next, reason }, "ownership client state");
      this.#state = next;
    }
  }

  start(): void {
    if (this.#state !== "idle") {
      throw new IllegalStateError("start slot ownership client", this.#state);
    }
    this.#setState("running", "start()");
    if (this.#store !== undefined) {
      this.#watch = this.#store.watch((assignment) => this.apply(assignment));
    }
    this.#schedule();
  }

  /** Feeds a desired assignment (ignored unless newer than the last one applied). */
  apply(assignment: Assignment): void {
    const last = this.#assignment;
    if (last !== undefined && compareAssignments(assignment, last) <= 0) {
      return;
    }
    this.#assignment = assignment;
    this.#kick();
  }

  /** The valid lease of `slot`, if this worker owns it right now. */
  lease(slot: SlotId): Lease | undefined {
    const lease = this.#tracked.get(slot)?.lease;
    return lease?.isValid() === true ? lease : undefined;
  }

  /** True when this worker owns `slot` right now (with `token`, when given). Check before fenced actions. */
  isOwner(slot: SlotId, token?: number): boolean {
    const lease = this.lease(slot);
    return lease !== undefined && (token === undefined || lease.token === token);
  }

  /** Slots owned right now with their fencing tokens, sorted by slot. */
  owned(): { slot: SlotId; fencingToken: number; validUntil: number }[] {
    return [...this.#tracked.values()]
      .filter((t) => t.lease?.isValid() === true)
      .map((t) => ({ slot: t.slot, fencingToken: t.lease?.token ?? 0, validUntil: t.lease?.validUntil ?? 0 }))
      .sort((a, b) => (a.slot < b.slot ? -1 : 1));
  }

  /** Publishes the slot's connection health (drain signals) with this worker's ownership. No-op unless owned. */
  async reportHealth(slot: SlotId, health: SlotHealth): Promise<void> {
    const lease = this.lease(slot);
    if (lease === undefined || this.#statusStore === undefined) {
      return;
    }
    await this.#statusStore.report({
      ...health,
      slot,
      workerId: this.workerId,
      fencingToken: lease.token,
      updatedAt: Date.now(),
    });
  }

  #desired(): Set<SlotId> {
    const out = new Set<SlotId>();
    for (const [slot, worker] of Object.entries(this.#assignment?.slots ?? {})) {
      if (worker === this.workerId) {
        out.add(slot);
      }
    }
    return out;
  }

  #kick(): void {
    if (this.#state !== "running") {
      return;
    }
    if (this.#ticking !== undefined) {
      this.#tickAgain = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#ticking = this.#tick()
      .catch((error: unknown) => this.#logger.error(errorFields(error), "ownership tick failed"))
      .finally(() => {
        this.#ticking = undefined;
        if (this.#tickAgain) {
          this.#tickAgain = false;
          this.#kick();
        } else {
          this.#schedule();
        }
      });
  }

  #schedule(): void {
    if (this.#state !== "running") {
      return;
    }
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#kick(), jittered(this.#retryMs, 0.2));
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    const desired = this.#desired();
    for (const slot of desired) {
      if (!this.#tracked.has(slot)) {
        this.#tracked.set(slot, {
          slot,
          phase: "preparing",
          lease: undefined,
          abort: new AbortController(),
          preparing: undefined,
          retryAt: 0,
        });
      }
    }
    await Promise.all([...this.#tracked.values()].map((t) => this.#step(t, desired.has(t.slot))));
  }

  async #step(t: Tracked, desired: boolean): Promise<void> {
    switch (t.phase) {
      case "preparing":
        if (!desired) {
          this.#forget(t, true);
          return;
        }
        this.#startPrepare(t);
        return;
      case "claiming":
        if (!desired) {
          await this.#deleteClaim(t.slot);
          this.#forget(t, true);
          return;
        }
        await this.#tryAcquire(t);
        return;
      case "held":
      case "handing-over":
        if (desired) {
          t.phase = "held";
          return;
        }
        await this.#handOver(t);
        return;
    }
  }

  #startPrepare(t: Tracked): void {
    if (t.preparing !== undefined || performance.now() < t.retryAt) {
      return;
    }
    const prepare = this.#prepare;
    if (prepare === undefined) {
      t.phase = "claiming";
      return;
    }
    const signal = AbortSignal.any([t.abort.signal, AbortSignal.timeout(this.#prepareTimeoutMs)]);
    t.preparing = prepare(t.slot, signal)
      .then(
        () => {
          if (this.#tracked.get(t.slot) === t && t.phase === "preparing") {
            t.phase = "claiming";
            this.#kick();
          }
        },
        (error: unknown) => {
          this.#logger.warn({ slot: t.slot, ...errorFields(error) }, "preparing slot failed; will retry");
          t.retryAt = performance.now() + this.#retryMs * 4;
        },
      )
      .finally(() => {
        t.preparing = undefined;
      });
  }

  async #tryAcquire(t: Tracked): Promise<void> {
    const claimKey = this.#keys.slotClaim(t.slot);
    await this.#nodes.all((c) => c.set(claimKey, this.workerId, "PX", 2 * this.#ttlMs));
    let lease: Lease;
    try {
      lease = await acquireSlotLease({
        nodes: this.#nodes,
        keys: this.#keys,
        slot: t.slot,
        ttlMs: this.#ttlMs,
        logger: this.#logger,
      });
    } catch (error) {
      if (!(error instanceof LockBusyError)) {
        this.#logger.warn({ slot: t.slot, ...errorFields(error) }, "acquiring slot failed");
      }
      return;
    }
    if (this.#tracked.get(t.slot) !== t || this.#state !== "running" || !this.#desired().has(t.slot)) {
      await lease.release();
      return;
    }
    t.lease = lease;
    t.phase = "held";
    lease.once("lost", (reason) => this.#onLeaseLost(t, lease, reason));
    await this.#deleteClaim(t.slot);
    this.#logger.info({ slot: t.slot, fencingToken: lease.token }, "slot acquired");
    this.emit("acquired", t.slot, lease.token);
  }

  #onLeaseLost(t: Tracked, lease: Lease, reason: LeaseLossReason): void {
    if (t.lease !== lease) {
      return;
    }
    t.lease = undefined;
    this.#logger.warn({ slot: t.slot, fencingToken: lease.token, reason }, "slot lease lost");
    this.emit("lost", t.slot, reason);
    void lease.release();
    if (!this.#desired().has(t.slot)) {
      this.#tracked.delete(t.slot); // was being handed over anyway
      return;
    }
    // Still assigned here: start over (prepare again — it must be idempotent —, claim, acquire).
    t.phase = "preparing";
    t.abort = new AbortController();
    this.#kick();
  }

  async #handOver(t: Tracked): Promise<void> {
    const lease = t.lease;
    if (lease === undefined) {
      this.#forget(t, false);
      return;
    }
    const newOwner = this.#assignment?.slots[t.slot];
    let reason: SlotLossReason | undefined;
    if (newOwner === undefined) {
      reason = "unassigned";
    } else {
      t.phase = "handing-over";
      const claims = await this.#nodes.all((c) => c.get(this.#keys.slotClaim(t.slot)));
      if (claims.some((c) => c.ok && c.value === newOwner)) {
        reason = "reassigned";
      }
    }
    if (reason === undefined || t.lease !== lease) {
      return;
    }
    t.lease = undefined;
    this.#tracked.delete(t.slot);
    this.#logger.info({ slot: t.slot, fencingToken: lease.token, reason, newOwner }, "letting go of slot");
    this.emit("lost", t.slot, reason);
    await lease.release();
  }

  #forget(t: Tracked, abandoned: boolean): void {
    t.abort.abort();
    this.#tracked.delete(t.slot);
    if (abandoned && this.#prepare !== undefined) {
      this.emit("abandoned", t.slot);
    }
  }

  async #deleteClaim(slot: SlotId): Promise<void> {
    await this.#nodes.all((c) => c.eval(DELETE_CLAIM_SCRIPT, 1, this.#keys.slotClaim(slot), this.workerId));
  }

  /** Idempotent: stops, emits `lost(slot, "closed")` for every owned slot and releases all leases. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#state === "idle") {
        this.#setState("closed", "close() before start()");
        return;
      }
      this.#setState("closing", "close()");
      clearTimeout(this.#timer);
      const errors: unknown[] = [];
      await this.#watch?.close().catch((e: unknown) => errors.push(e));
      await this.#ticking;
      const all = [...this.#tracked.values()];
      this.#tracked.clear();
      await Promise.all(
        all.map(async (t) => {
          t.abort.abort();
          const lease = t.lease;
          t.lease = undefined;
          if (lease !== undefined) {
            this.emit("lost", t.slot, "closed");
            await lease.release().catch((e: unknown) => errors.push(e));
          } else if (t.phase === "claiming") {
            await this.#deleteClaim(t.slot).catch((e: unknown) => errors.push(e));
          }
        }),
      );
      this.#setState("closed", "close()");
      if (errors.length > 0) {
        this.#logger.warn({ errors: errors.length }, "ownership client closed with errors");
      }
    })();
    return this.#closing;
  }
}
