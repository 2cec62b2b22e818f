// The whole Redis key schema, in one place. Every key starts with a configurable prefix (default `ccs:`).

import { DEFAULT_KEY_PREFIX } from "@ccs/contract";
import { InvalidOptionError } from "./errors.ts";
import type { SlotId } from "./slots.ts";

export interface KeySchema {
  readonly prefix: string;
  /** Redlock resource of a slot (value: random lock id; PX = slot lease TTL). */
  slotLock(slot: SlotId): string;
  /** Fencing counter of a slot (integer, never expires, only grows). */
  slotFence(slot: SlotId): string;
  /** Redlock resource of the coordinator leader role. */
  leaderLock(): string;
  /** Fencing counter of the leader role. */
  leaderFence(): string;
  /** Hash {token, version, doc}: the desired assignment, written only by a leader with a current token. */
  assignment(): string;
  /** Pub/sub channel announcing a new assignment version (message: `<token>:<version>`). */
  assignmentChannel(): string;
  /** Worker id of the desired new owner waiting for the current owner to let go (make-before-break); PX. */
  slotClaim(slot: SlotId): string;
  /** Sorted set of registered worker ids (score: last heartbeat, ms since epoch). */
  workers(): string;
  /** JSON {workerId, capacity, host, statusUrl, startedAt, heartbeatAt}; PX = heartbeat TTL. */
  worker(workerId: string): string;
  /** JSON slot status reported by its owner {workerId, fencingToken, state, pending, drains, ...}; PX = status TTL. */
  slotStatus(slot: SlotId): string;
  /** Upstream de-duplication marker (value "1", PX = dedupe window); `digest` from `upstreamDedupeKey`. */
  upstreamDedupe(digest: string): string;
}

const PREFIX = /^[A-Za-z0-9_.:{}-]{0,64}$/;

export function createKeySchema(prefix: string = DEFAULT_KEY_PREFIX): KeySchema {
  if (!PREFIX.test(prefix)) {
    throw new InvalidOptionError(`invalid Redis key prefix ${JSON.stringify(prefix)}`);
  }
  return {
    prefix,
    slotLock: (slot) => `${prefix}lock:slot:${slot}`,
    slotFence: (slot) => `${prefix}fence:slot:${slot}`,
    leaderLock: () => `${prefix}lock:leader`,
    leaderFence: () => `${prefix}fence:leader`,
    assignment: () => `${prefix}assignment`,
    assignmentChannel: () => `${prefix}assignment:changed`,
    slotClaim: (slot) => `${prefix}claim:slot:${slot}`,
    workers: () => `${prefix}workers`,
    worker: (workerId) => `${prefix}worker:${workerId}`,
    slotStatus: (slot) => `${prefix}slot-status:${slot}`,
    upstreamDedupe: (digest) => `${prefix}up:${digest}`,
  };
}
