/**
 * Slots granted by the coordinator (coordinated mode). The worker registers with its capacity and
 * heartbeats (WorkerRegistry); the SlotOwnershipClient follows the leader's assignment:
 *   prepare(slot)  → open the slot's CCS connection (make-before-break; PreparedSlots)
 *   acquired       → grant({ senderId, slotIndex: global index, fence }) — the pipeline takes the
 *                    prepared slot and checks the fence before every fetch and send
 *   lost/abandoned → revoke: the pipeline stops fetching at once and hands back unsent work; pending
 *                    sends still get their answers (or are resent elsewhere)
 * and the owned slots' health (drain signals) is reported for the leader.
 */
import { EventEmitter } from "node:events";
import {
  AssignmentStore,
  type Heartbeat,
  type KeySchema,
  parseSlotId,
  type RedisNodes,
  type SlotHealth,
  type SlotId,
  type SlotLossReason,
  SlotOwnershipClient,
  SlotStatusStore,
  WorkerRegistry,
} from "@ccs/cluster";
import { errorFields, type Logger } from "@ccs/telemetry";
import type { ConnectionSlot } from "../connection/contract.ts";
import type { AssignmentEvents, AssignmentSource, SlotFence, SlotGrant } from "./assignment-source.ts";
import { PreparedSlots } from "./prepared-slots.ts";
import { SlotHealthTracker } from "./slot-health.ts";

export interface CoordinatedAssignmentOptions {
  readonly nodes: RedisNodes;
  readonly keys: KeySchema;
  readonly workerId: string;
  /** Most slots (connections) this worker holds. */
  readonly capacity: number;
  readonly host: string;
  readonly statusUrl: string;
  readonly workerTtlMs: number;
  readonly leaseTtlMs: number;
  readonly healthReportIntervalMs: number;
  readonly replacementFailureLimit: number;
  /** Creates a (not started) connection slot for a grant; slotIndex is the sender-global index. */
  readonly slotFactory: (grant: SlotGrant) => ConnectionSlot;
  /** Grace for pending sends when a prepared, never owned slot is closed. */
  readonly graceMs: number;
  readonly logger: Logger;
}

/** created → registered → running → stopping → stopped. */
export type CoordinatedState = "created" | "registered" | "running" | "stopping" | "stopped";

interface Held {
  readonly grant: SlotGrant;
  readonly fence: SlotFence;
  tracker: SlotHealthTracker | undefined;
}

export interface OwnedSlotStatus {
  readonly slot: SlotId;
  readonly senderId: string;
  readonly slotIndex: number;
  readonly fencingToken: number;
  readonly leaseRemainingMs: number;
  readonly health: SlotHealth | undefined;
}

/** Adds `senderId` to every library log record about a slot, as the worker's own slot lines have. */
function withSenderIds(logger: Logger): Logger {
  const enrich = (obj: object): object => {
    const slot = (obj as { slot?: unknown }).slot;
    if (typeof slot !== "string" || "senderId" in obj) return obj;
    try {
      return { senderId: parseSlotId(slot).senderId, ...obj };
    } catch {
      return obj; // not a slot id: logged as it is
    }
  };
  return {
    debug: (obj, msg) => logger.debug(enrich(obj), msg),
    info: (obj, msg) => logger.info(enrich(obj), msg),
    warn: (obj, msg) => logger.warn(enrich(obj), msg),
    error: (obj, msg) => logger.error(enrich(obj), msg),
    child: (bindings) => withSenderIds(logger.child(bindings)),
  };
}

export class CoordinatedAssignment implements AssignmentSource {
  readonly #o: CoordinatedAssignmentOptions;
  readonly #log: Logger;
  readonly #emitter = new EventEmitter();
  readonly #registry: WorkerRegistry;
  readonly #ownership: SlotOwnershipClient;
  readonly #prepared: PreparedSlots;
  readonly #held = new Map<SlotId, Held>();
  #heartbeat: Heartbeat | undefined;
  #state: CoordinatedState = "created";
  #healthTimer: NodeJS.Timeout | undefined;
  #reporting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;

  constructor(options: CoordinatedAssignmentOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "coordinated-assignment" });
    const clusterLog = withSenderIds(options.logger);
    this.#registry = new WorkerRegistry({
      nodes: options.nodes,
      keys: options.keys,
      ttlMs: options.workerTtlMs,
      logger: clusterLog,
    });
    this.#prepared = new PreparedSlots({
      factory: options.slotFactory,
      capacity: options.capacity,
      graceMs: options.graceMs,
      logger: this.#log,
    });
    this.#ownership = new SlotOwnershipClient({
      nodes: options.nodes,
      keys: options.keys,
      workerId: options.workerId,
      assignments: new AssignmentStore({ nodes: options.nodes, keys: options.keys }),
      statusStore: new SlotStatusStore({ nodes: options.nodes, keys: options.keys }),
      leaseTtlMs: options.leaseTtlMs,
      prepare: (slot, signal) => this.#prepared.prepare(slot, signal),
      logger: clusterLog,
    });
    this.#ownership.on("acquired", (slot, token) => this.#onAcquired(slot, token));
    this.#ownership.on("lost", (slot, reason) => this.#onLost(slot, reason));
    this.#ownership.on("abandoned", (slot) => this.#onAbandoned(slot));
  }

  get state(): CoordinatedState {
    return this.#state;
  }

  /** Registered with the coordinator (heartbeating) and not stopping. */
  get registered(): boolean {
    return this.#state === "registered" || this.#state === "running";
  }

  #setState(next: CoordinatedState): void {
    this.#log.info({ from: this.#state, to: next }, "coordinated assignment state");
    this.#state = next;
  }

  /** Registers the worker (first heartbeat awaited) so the leader may assign it slots. */
  async register(): Promise<void> {
    if (this.#state !== "created") throw new Error(`register() called while ${this.#state}`);
    const { workerId, capacity, host, statusUrl } = this.#o;
    this.#heartbeat = await this.#registry.register({ workerId, capacity, host, statusUrl });
    this.#setState("registered");
    this.#log.info({ workerId, capacity, statusUrl }, "worker registered");
  }

  /** The pipeline's slot factory: the prepared (connected) slot of a grant, else a new one. */
  slotFor(grant: SlotGrant): ConnectionSlot {
    const slot = grant.fence?.slot;
    const prepared = slot === undefined ? undefined : this.#prepared.take(slot);
    if (prepared !== undefined) return prepared;
    const created = this.#o.slotFactory(grant);
    if (slot !== undefined) this.#prepared.adopt(slot, created);
    return created;
  }

  current(): readonly SlotGrant[] {
    return [...this.#held.values()].map((h) => h.grant);
  }

  on<E extends keyof AssignmentEvents>(event: E, listener: AssignmentEvents[E]): this {
    this.#emitter.on(event, listener);
    return this;
  }

  off<E extends keyof AssignmentEvents>(event: E, listener: AssignmentEvents[E]): this {
    this.#emitter.off(event, listener);
    return this;
  }

  start(): void {
    if (this.#state !== "registered") throw new Error(`start() called while ${this.#state}`);
    this.#setState("running");
    this.#ownership.start();
    this.#healthTimer = setInterval(() => void this.reportHealth(), this.#o.healthReportIntervalMs);
    this.#healthTimer.unref();
  }

  /** Owned slots with fencing tokens, lease time left and health (status page). */
  owned(): OwnedSlotStatus[] {
    const overCapacity = this.#prepared.openConnections() > this.#o.capacity;
    return this.#ownership.owned().map(({ slot, fencingToken }) => {
      const { senderId, index } = parseSlotId(slot);
      return {
        slot,
        senderId,
        slotIndex: index,
        fencingToken,
        leaseRemainingMs: Math.max(0, Math.round(this.#ownership.lease(slot)?.remainingMs() ?? 0)),
        health: this.#held.get(slot)?.tracker?.health(overCapacity),
      };
    });
  }

  #onAcquired(slot: SlotId, token: number): void {
    const { senderId, index } = parseSlotId(slot);
    const fence: SlotFence = { slot, token, isValid: () => this.#ownership.isOwner(slot, token) };
    const grant: SlotGrant = { senderId, slotIndex: index, fence };
    const connectionSlot = this.#prepared.get(slot);
    const tracker =
      connectionSlot === undefined
        ? undefined
        : new SlotHealthTracker(connectionSlot, this.#o.replacementFailureLimit);
    if (tracker !== undefined) tracker.onDrain = () => void this.#report(slot);
    this.#held.set(slot, { grant, fence, tracker });
    this.#emitter.emit("grant", grant);
    void this.#report(slot);
  }

  #onLost(slot: SlotId, reason: SlotLossReason): void {
    const held = this.#held.get(slot);
    this.#held.delete(slot);
    held?.tracker?.stop();
    const { senderId, index } = parseSlotId(slot);
    this.#log.warn(
      { senderId, slot, slotIndex: index, fencingToken: held?.fence.token, reason },
      "slot lost",
    );
    // Taken slots are closed by the pipeline's revoke (pending sends get their answers first).
    void this.#prepared.release(slot);
    this.#emitter.emit("revoke", held?.grant ?? { senderId, slotIndex: index });
  }

  #onAbandoned(slot: SlotId): void {
    this.#log.info({ senderId: parseSlotId(slot).senderId, slot }, "prepared slot abandoned");
    void this.#prepared
      .release(slot)
      .catch((err: unknown) =>
        this.#log.warn({ ...errorFields(err), slot }, "closing an abandoned slot failed"),
      );
  }

  /** Reports every owned slot's health once (also runs every healthReportIntervalMs). */
  reportHealth(): Promise<void> {
    this.#reporting ??= Promise.allSettled([...this.#held.keys()].map((slot) => this.#report(slot))).then(
      () => {
        this.#reporting = undefined;
      },
    );
    return this.#reporting;
  }

  async #report(slot: SlotId): Promise<void> {
    const tracker = this.#held.get(slot)?.tracker;
    if (tracker === undefined || this.#state !== "running") return;
    const health = tracker.health(this.#prepared.openConnections() > this.#o.capacity);
    try {
      await this.#ownership.reportHealth(slot, health);
    } catch (err) {
      this.#log.warn({ ...errorFields(err), slot }, "slot health report failed");
    }
  }

  /**
   * Idempotent: releases every lease (no revoke events: the pipeline closes its own slots), closes
   * prepared slots never taken, and deregisters so the leader moves this worker's slots at once.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#setState("stopping");
    clearInterval(this.#healthTimer);
    const errors: unknown[] = [];
    await this.#ownership.close().catch((e: unknown) => errors.push(e));
    for (const held of this.#held.values()) held.tracker?.stop();
    this.#held.clear();
    await this.#prepared.close().catch((e: unknown) => errors.push(e));
    await this.#heartbeat?.close().catch((e: unknown) => errors.push(e));
    for (const err of errors) this.#log.warn(errorFields(err), "coordinated assignment stop step failed");
    this.#setState("stopped");
  }
}
