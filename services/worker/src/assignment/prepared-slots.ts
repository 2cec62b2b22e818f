/**
 * Connection slots opened ahead of ownership (make-before-break): the ownership client's prepare(slot)
 * opens the slot's CCS connection here and waits until it is online; once the slot is acquired the
 * pipeline takes it (already connected). Bounded by the worker's capacity.
 */
import { parseSlotId, type SlotId } from "@ccs/cluster";
import { errorFields, type Logger } from "@ccs/telemetry";
import type { ConnectionSlot } from "../connection/contract.ts";
import type { SlotGrant } from "./assignment-source.ts";
import { StartedSlot } from "./started-slot.ts";

/** The worker holds `capacity` slots already: it cannot open another connection. */
export class CapacityError extends Error {
  readonly capacity: number;
  constructor(slot: SlotId, capacity: number) {
    super(`cannot prepare slot ${slot}: the worker is at capacity (${capacity} slots)`);
    this.name = "CapacityError";
    this.capacity = capacity;
  }
}

/** prepare() was aborted (timeout, or the slot is no longer assigned here). */
export class PrepareAbortedError extends Error {
  constructor(slot: SlotId, options?: ErrorOptions) {
    super(`preparing slot ${slot} aborted before its connection came online`, options);
    this.name = "PrepareAbortedError";
  }
}

/** A slot's lifecycle here: prepared (opened, not owned) → taken (the pipeline runs it). */
type EntryState = "prepared" | "taken";

interface Entry {
  readonly slot: ConnectionSlot;
  state: EntryState;
}

export interface PreparedSlotsOptions {
  /** Creates a (not started) connection slot; slotIndex is the sender-global index. */
  readonly factory: (grant: SlotGrant) => ConnectionSlot;
  readonly capacity: number;
  /** Grace given to pending sends when a prepared (never taken) slot is closed. */
  readonly graceMs: number;
  readonly logger: Logger;
}

export class PreparedSlots {
  readonly #o: PreparedSlotsOptions;
  readonly #entries = new Map<SlotId, Entry>();

  constructor(options: PreparedSlotsOptions) {
    this.#o = options;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Open connections over all slots (current plus draining ones). */
  openConnections(): number {
    let n = 0;
    for (const e of this.#entries.values()) n += e.slot.connections().length;
    return n;
  }

  get(slot: SlotId): ConnectionSlot | undefined {
    return this.#entries.get(slot)?.slot;
  }

  /** Idempotent: opens the slot's connection unless open already, resolves once one is online. */
  async prepare(slot: SlotId, signal: AbortSignal): Promise<void> {
    let entry = this.#entries.get(slot);
    if (entry === undefined) {
      if (this.#entries.size >= this.#o.capacity) throw new CapacityError(slot, this.#o.capacity);
      const { senderId, index } = parseSlotId(slot);
      const created = this.#o.factory({ senderId, slotIndex: index });
      created.on("authFailed", (error, nextAttemptInMs) =>
        this.#o.logger.error({ ...errorFields(error), slot, nextAttemptInMs }, "CCS authentication refused"),
      );
      entry = { slot: created, state: "prepared" };
      this.#entries.set(slot, entry);
      created.start();
      this.#o.logger.info({ slot, senderId }, "slot preparing: opening its CCS connection");
    }
    await waitOnline(slot, entry.slot, signal);
  }

  /** The pipeline's slot for an acquired grant (already started), if one was prepared. */
  take(slot: SlotId): ConnectionSlot | undefined {
    const entry = this.#entries.get(slot);
    if (entry === undefined || entry.state === "taken") return undefined;
    entry.state = "taken";
    return new StartedSlot(entry.slot);
  }

  /** Records a slot the pipeline created itself (no prepare step), so capacity counts it. */
  adopt(slot: SlotId, connectionSlot: ConnectionSlot): void {
    if (!this.#entries.has(slot)) this.#entries.set(slot, { slot: connectionSlot, state: "taken" });
  }

  /**
   * Forgets a slot: one the pipeline took is closed by the pipeline (revoke); one only prepared is
   * closed here.
   */
  async release(slot: SlotId): Promise<void> {
    const entry = this.#entries.get(slot);
    if (entry === undefined) return;
    this.#entries.delete(slot);
    if (entry.state === "prepared") await entry.slot.close(this.#o.graceMs);
  }

  /** Closes every prepared, never taken slot (shutdown); taken ones are the pipeline's to close. */
  async close(): Promise<void> {
    const prepared = [...this.#entries].filter(([, e]) => e.state === "prepared");
    for (const [slot] of prepared) this.#entries.delete(slot);
    await Promise.allSettled(prepared.map(([, e]) => e.slot.close(this.#o.graceMs)));
  }
}

function waitOnline(slotId: SlotId, slot: ConnectionSlot, signal: AbortSignal): Promise<void> {
  if (slot.connections().some((c) => c.state === "online")) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const onConnection = (): void => {
      cleanup();
      resolve();
    };
    const onAbort = (): void => {
      cleanup();
      reject(new PrepareAbortedError(slotId, { cause: signal.reason }));
    };
    const cleanup = (): void => {
      slot.off("connection", onConnection);
      signal.removeEventListener("abort", onAbort);
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    slot.on("connection", onConnection);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
