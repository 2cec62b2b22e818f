// What the leader does: whenever workers, senders or slot health change (checked every
// assignIntervalMs, and at once on a sender change), compute the assignment with assign() and write it
// with the current leader fencing token. Followers run nothing here.

import {
  type Assignment,
  type AssignmentStore,
  assign,
  compareAssignments,
  type LeaderLease,
  type Logger,
  type SenderConfig,
  type SlotId,
  type SlotStatus,
  type SlotStatusStore,
  StaleFencingTokenError,
  slotsOf,
  type WorkerInfo,
  type WorkerRegistry,
} from "@ccs/cluster";
import { IllegalStateError } from "./errors.ts";

export interface LeaderLoopOptions {
  readonly leader: LeaderLease;
  readonly registry: WorkerRegistry;
  readonly store: AssignmentStore;
  readonly slotStatus: SlotStatusStore;
  readonly senders: () => readonly SenderConfig[];
  readonly intervalMs: number;
  /** Replacement failures after which a slot moves away from its owner. */
  readonly drainReplacementFailures: number;
  readonly logger: Logger;
}

export interface DrainPolicy {
  /** slot → the worker that reported it cannot keep a connection for it. */
  readonly avoid: Map<SlotId, ReadonlySet<string>>;
  /** Workers that reported such a failure, capped to the healthy slots they already have (no new ones). */
  readonly capped: Map<string, number>;
}

/**
 * Drain handling: a worker whose status for a slot says it cannot open a replacement connection (it is
 * at capacity, or its attempts keep failing) loses that slot to another worker and gets no new slots
 * while that status record lives (its TTL is the cool-down); its other slots stay where they are.
 */
export function drainPolicy(
  current: ReadonlyMap<SlotId, string>,
  statuses: ReadonlyMap<SlotId, SlotStatus>,
  replacementFailures: number,
): DrainPolicy {
  const avoid = new Map<SlotId, ReadonlySet<string>>();
  const failing = new Set<string>();
  for (const [slot, status] of statuses) {
    if (status.cannotReplace || status.replacementFailures >= replacementFailures) {
      avoid.set(slot, new Set([status.workerId]));
      failing.add(status.workerId);
    }
  }
  const capped = new Map<string, number>();
  for (const worker of failing) {
    let healthy = 0;
    for (const [slot, owner] of current) {
      if (owner === worker && avoid.get(slot)?.has(worker) !== true) healthy++;
    }
    capped.set(worker, healthy);
  }
  return { avoid, capped };
}

function sameAssignment(
  a: Assignment,
  senders: readonly { senderId: string; connections: number }[],
  slots: ReadonlyMap<SlotId, string>,
): boolean {
  const entries = Object.entries(a.slots);
  if (entries.length !== slots.size || a.senders.length !== senders.length) return false;
  if (entries.some(([slot, w]) => slots.get(slot) !== w)) return false;
  return a.senders.every(
    (s, i) => s.senderId === senders[i]?.senderId && s.connections === senders[i]?.connections,
  );
}

/** "idle" → start() → "running" → close() → "closed". */
export type LeaderLoopState = "idle" | "running" | "closed";

export class LeaderLoop {
  readonly #o: LeaderLoopOptions;
  #state: LeaderLoopState = "idle";
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #last: Assignment | undefined;
  /** The store held nothing last round (logged once per loss). */
  #storeWasEmpty = false;
  /** A stored assignment carries a higher token than ours (logged once). */
  #outranked = false;
  #unassigned: readonly SlotId[] = [];
  #workers: readonly WorkerInfo[] = [];
  #statuses: ReadonlyMap<SlotId, SlotStatus> = new Map();

  constructor(options: LeaderLoopOptions) {
    this.#o = options;
  }

  get state(): LeaderLoopState {
    return this.#state;
  }

  /** The last assignment this replica wrote or read as leader. */
  get lastAssignment(): Assignment | undefined {
    return this.#last;
  }

  get unassigned(): readonly SlotId[] {
    return this.#unassigned;
  }

  /** The only writer of the state. */
  #setState(next: LeaderLoopState, reason: string): void {
    if (this.#state !== next) {
      this.#o.logger.info({ from: this.#state, to: next, reason }, "leader loop state");
      this.#state = next;
    }
  }

  start(): void {
    if (this.#state !== "idle") throw new IllegalStateError("start leader loop", this.#state);
    this.#setState("running", "start()");
    this.#schedule(0);
  }

  /** Recompute now (e.g. the senders changed). */
  trigger(): void {
    if (this.#state !== "running") return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#running = this.#tick()
        .catch((error: unknown) => this.#o.logger.error({ err: String(error) }, "assignment round failed"))
        .finally(() => {
          this.#running = undefined;
          if (this.#state === "running") this.#schedule(this.#again ? 0 : this.#o.intervalMs);
          this.#again = false;
        });
    }, ms);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    const { leader, registry, store, slotStatus, logger } = this.#o;
    const token = leader.token;
    if (token === undefined || !leader.isLeader()) {
      return;
    }
    // Every round starts from what is stored (one small read per node): after an election that is the
    // previous leader's assignment. When nothing is stored (Redis lost its data, possibly without this
    // leader losing its lease, which renewal takes back) it continues from the last assignment known
    // here, which is where the workers still hold their slots, and writes it again.
    const stored = await store.read();
    if (stored !== undefined && (this.#last === undefined || compareAssignments(stored, this.#last) > 0)) {
      this.#last = stored;
    }
    const lastStored =
      stored !== undefined && this.#last !== undefined && compareAssignments(stored, this.#last) === 0;
    if (stored === undefined && this.#last !== undefined && !this.#storeWasEmpty) {
      logger.warn(
        { fencingToken: token, version: this.#last.version },
        "no stored assignment: writing it again",
      );
    }
    this.#storeWasEmpty = stored === undefined;
    if (stored !== undefined && stored.token > token) {
      // A newer leader's assignment (or one written before Redis lost the fence): never overwrite it
      // round after round; the write would be refused or, worse, repeated forever. Wait to be deposed.
      if (!this.#outranked) {
        logger.warn(
          { fencingToken: token, storedToken: stored.token },
          "a stored assignment has a higher token: not writing",
        );
      }
      this.#outranked = true;
      return;
    }
    this.#outranked = false;
    const senders = this.#o.senders().map((s) => ({ senderId: s.senderId, connections: s.connections }));
    const slots = slotsOf(senders);
    const [workers, statuses] = await Promise.all([registry.list(), slotStatus.read(slots)]);
    this.#workers = workers;
    this.#statuses = statuses;
    const current = new Map(Object.entries(this.#last?.slots ?? {}));
    const { avoid, capped } = drainPolicy(current, statuses, this.#o.drainReplacementFailures);
    const capacities = workers.map((w) => ({
      workerId: w.workerId,
      capacity: Math.min(w.capacity, capped.get(w.workerId) ?? w.capacity),
    }));
    const result = assign(slots, capacities, current, { avoid });
    this.#unassigned = result.unassigned;
    if (
      this.#last !== undefined &&
      lastStored &&
      this.#last.token === token &&
      sameAssignment(this.#last, senders, result.assignment)
    ) {
      return;
    }
    if (!leader.isLeader() || leader.token !== token) {
      return; // lost the lease while computing: never write with a token we no longer hold
    }
    const next: Assignment = {
      token,
      version: (this.#last?.version ?? 0) + 1,
      leaderId: leader.candidateId,
      writtenAt: Date.now(),
      senders,
      slots: Object.fromEntries(result.assignment),
    };
    try {
      await store.write(next);
    } catch (error) {
      if (error instanceof StaleFencingTokenError) {
        logger.warn({ fencingToken: token }, "assignment write rejected: a newer leader exists");
        return;
      }
      throw error;
    }
    this.#last = next;
    logger.info(
      {
        version: next.version,
        fencingToken: token,
        slots: slots.length,
        workers: workers.length,
        moved: result.moved.length,
        unassigned: result.unassigned.length,
        avoided: avoid.size,
      },
      "assignment written",
    );
  }

  /** Workers and slot health seen by the last round (status page). */
  observed(): {
    readonly workers: readonly WorkerInfo[];
    readonly statuses: ReadonlyMap<SlotId, SlotStatus>;
  } {
    return { workers: this.#workers, statuses: this.#statuses };
  }

  /** Idempotent. */
  async close(): Promise<void> {
    this.#setState("closed", "close()");
    clearTimeout(this.#timer);
    await this.#running;
  }
}
