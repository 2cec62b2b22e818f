// The lease on one connection slot of a sender: whoever holds it may run that connection and publish
// with its fencing token.

import type { KeySchema } from "./keys.ts";
import { Lease, type LeaseOptions } from "./lease.ts";
import type { SlotId } from "./slots.ts";

export interface SlotLeaseOptions extends Omit<LeaseOptions, "resource" | "fenceKey"> {
  readonly keys: KeySchema;
  readonly slot: SlotId;
}

/**
 * Tries once to take `slot`. Renewal runs every TTL/3 until `release()` or loss (`lost` event).
 * @throws LockBusyError | QuorumError | LeaseExpiredError
 */
export function acquireSlotLease(options: SlotLeaseOptions): Promise<Lease> {
  const { keys, slot, ...rest } = options;
  return Lease.acquire({ ...rest, resource: keys.slotLock(slot), fenceKey: keys.slotFence(slot) });
}
