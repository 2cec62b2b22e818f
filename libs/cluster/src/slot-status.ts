// Per-slot connection health reported by the slot's owner (drain signals for the leader, and the status
// page). Written on every node with a TTL; the freshest record wins on read.

import { QuorumError } from "./errors.ts";
import type { KeySchema } from "./keys.ts";
import type { RedisNodes } from "./redis-nodes.ts";
import type { SlotId } from "./slots.ts";

export const DEFAULT_SLOT_STATUS_TTL_MS = 30_000;

/** The slot's connection state as its owner sees it. */
export type SlotConnectionState = "connecting" | "online" | "draining" | "replacing" | "down";

export interface ConnectionHealth {
  readonly id: string;
  readonly state: string;
  readonly pending: number;
}

/** What the worker reports; the ownership client adds the owner fields. */
export interface SlotHealth {
  readonly state: SlotConnectionState;
  /** Messages awaiting a CCS answer on all of the slot's connections. */
  readonly pending: number;
  /** CONNECTION_DRAINING seen on this slot since the owner took it. */
  readonly drains: number;
  /** Consecutive failed attempts to open a replacement connection. */
  readonly replacementFailures: number;
  /** The owner cannot open a connection for this slot (at capacity, or attempts keep failing): move it. */
  readonly cannotReplace: boolean;
  readonly connections: readonly ConnectionHealth[];
  /** Optional send rate over the last interval (messages/s). */
  readonly sendRate?: number;
}

export interface SlotStatus extends SlotHealth {
  readonly slot: SlotId;
  readonly workerId: string;
  readonly fencingToken: number;
  /** Wall-clock ms. */
  readonly updatedAt: number;
}

export class SlotStatusStore {
  readonly ttlMs: number;
  readonly #nodes: RedisNodes;
  readonly #keys: KeySchema;

  constructor(options: { readonly nodes: RedisNodes; readonly keys: KeySchema; readonly ttlMs?: number }) {
    this.#nodes = options.nodes;
    this.#keys = options.keys;
    this.ttlMs = options.ttlMs ?? DEFAULT_SLOT_STATUS_TTL_MS;
  }

  /** Writes on every node; succeeds when at least one took it. */
  async report(status: SlotStatus): Promise<void> {
    const value = JSON.stringify(status);
    const results = await this.#nodes.all((client) =>
      client.set(this.#keys.slotStatus(status.slot), value, "PX", this.ttlMs),
    );
    if (!results.some((r) => r.ok)) {
      throw new QuorumError(
        "report slot status",
        0,
        1,
        results.map((r) => r.error),
      );
    }
  }

  /** The freshest status of each given slot that has one. */
  async read(slots: readonly SlotId[]): Promise<Map<SlotId, SlotStatus>> {
    const out = new Map<SlotId, SlotStatus>();
    if (slots.length === 0) {
      return out;
    }
    const results = await this.#nodes.all((client) =>
      client.mget(slots.map((s) => this.#keys.slotStatus(s))),
    );
    for (const r of results) {
      for (const raw of r.value ?? []) {
        if (raw === null) {
          continue;
        }
        const status = JSON.parse(raw) as SlotStatus;
        const known = out.get(status.slot);
        if (known === undefined || status.updatedAt > known.updatedAt) {
          out.set(status.slot, status);
        }
      }
    }
    return out;
  }

  async remove(slot: SlotId): Promise<void> {
    await this.#nodes.all((client) => client.del(this.#keys.slotStatus(slot)));
  }
}
