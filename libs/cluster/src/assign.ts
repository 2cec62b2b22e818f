// assign(): the pure placement function the leader runs. Deterministic (same input → same output),
// proportional to capacity, and it moves as few slots as the new quotas allow.
//
// 1. Quotas: share = total * capacity / sum of capacities; every quota is floor(share) or ceil(share),
//    chosen as close as possible to what the worker holds now (so rounding never forces a move), and
//    the quotas add up to the total. When slots exceed total capacity, every quota is the capacity.
// 2. Keep: a slot stays with its current owner if that owner is live, not avoided for the slot, and
//    under its quota (slots are visited in sorted order, so which ones stay is deterministic).
// 3. Place the rest on the candidate with the fewest slots of the same sender (spreads a sender's
//    connections, so one worker's death takes few of them), then the most quota room, then worker id.
//    Avoided workers (the owner reported it cannot open a connection for that slot) are used last.

import { parseSlotId, type SlotId } from "./slots.ts";

export interface WorkerCapacity {
  readonly workerId: string;
  readonly capacity: number;
}

export interface AssignOptions {
  /** slot → workers that must not get it unless nothing else has room. */
  readonly avoid?: ReadonlyMap<SlotId, ReadonlySet<string>>;
}

export interface AssignResult {
  /** slot → worker id. */
  readonly assignment: ReadonlyMap<SlotId, string>;
  /** Slots that found no room (capacity exhausted), sorted. */
  readonly unassigned: readonly SlotId[];
  /** Slots whose owner changed from `current` (including newly placed ones that had a live owner before). */
  readonly moved: readonly SlotId[];
}

function byId(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function quotas(
  total: number,
  workers: readonly WorkerCapacity[],
  held: ReadonlyMap<string, number>,
): Map<string, number> {
  const out = new Map<string, number>();
  const capacity = workers.reduce((sum, w) => sum + w.capacity, 0);
  if (total >= capacity) {
    for (const w of workers) {
      out.set(w.workerId, w.capacity);
    }
    return out;
  }
  // Each quota lies in [floor(share), ceil(share)] (share <= capacity, so both are within capacity);
  // start as close to what the worker holds as that allows, then fix the sum one step at a time.
  const bounds = workers.map((w) => {
    const share = (total * w.capacity) / capacity;
    const lo = Math.floor(share);
    const hi = Math.ceil(share);
    const h = held.get(w.workerId) ?? 0;
    return {
      workerId: w.workerId,
      fraction: share - lo,
      lo,
      hi,
      held: h,
      quota: Math.min(hi, Math.max(lo, h)),
    };
  });
  let sum = bounds.reduce((s, b) => s + b.quota, 0);
  if (sum > total) {
    // Lower first the quotas that exceed what their worker holds (no slot moves), smallest share first.
    const order = [...bounds].sort(
      (a, b) =>
        Number(b.quota > b.held) - Number(a.quota > a.held) ||
        a.fraction - b.fraction ||
        byId(a.workerId, b.workerId),
    );
    for (const b of order) {
      while (sum > total && b.quota > b.lo) {
        b.quota--;
        sum--;
      }
    }
  } else if (sum < total) {
    const order = [...bounds].sort(
      (a, b) => b.fraction - a.fraction || b.held - a.held || byId(a.workerId, b.workerId),
    );
    for (const b of order) {
      if (sum < total && b.quota < b.hi) {
        b.quota++;
        sum++;
      }
    }
  }
  for (const b of bounds) {
    out.set(b.workerId, b.quota);
  }
  return out;
}

export function assign(
  slots: readonly SlotId[],
  workers: readonly WorkerCapacity[],
  current: ReadonlyMap<SlotId, string>,
  options: AssignOptions = {},
): AssignResult {
  const avoid = options.avoid ?? new Map<SlotId, ReadonlySet<string>>();
  const live = [...new Map(workers.filter((w) => w.capacity > 0).map((w) => [w.workerId, w])).values()].sort(
    (a, b) => byId(a.workerId, b.workerId),
  );
  const liveIds = new Set(live.map((w) => w.workerId));
  const sorted = [...new Set(slots)].sort(byId);
  const held = new Map<string, number>();
  for (const slot of sorted) {
    const owner = current.get(slot);
    if (owner !== undefined && liveIds.has(owner)) {
      held.set(owner, (held.get(owner) ?? 0) + 1);
    }
  }
  const quota = quotas(sorted.length, live, held);
  const capacityOf = new Map(live.map((w) => [w.workerId, w.capacity]));
  const load = new Map<string, number>(live.map((w) => [w.workerId, 0]));
  const perSender = new Map<string, Map<string, number>>();
  const result = new Map<SlotId, string>();
  const place = (slot: SlotId, workerId: string): void => {
    result.set(slot, workerId);
    load.set(workerId, (load.get(workerId) ?? 0) + 1);
    const sender = parseSlotId(slot).senderId;
    let counts = perSender.get(sender);
    if (counts === undefined) {
      counts = new Map();
      perSender.set(sender, counts);
    }
    counts.set(workerId, (counts.get(workerId) ?? 0) + 1);
  };

  const pending: SlotId[] = [];
  for (const slot of sorted) {
    const owner = current.get(slot);
    if (
      owner !== undefined &&
      liveIds.has(owner) &&
      avoid.get(slot)?.has(owner) !== true &&
      (load.get(owner) ?? 0) < (quota.get(owner) ?? 0)
    ) {
      place(slot, owner);
    } else {
      pending.push(slot);
    }
  }

  const unassigned: SlotId[] = [];
  for (const slot of pending) {
    const sender = parseSlotId(slot).senderId;
    const avoided = avoid.get(slot);
    const room = (w: string, limit: ReadonlyMap<string, number>): number =>
      (limit.get(w) ?? 0) - (load.get(w) ?? 0);
    const pick = (limit: ReadonlyMap<string, number>, allowAvoided: boolean): string | undefined => {
      let best: string | undefined;
      let bestKey: [number, number] | undefined;
      for (const w of live) {
        const id = w.workerId;
        if (room(id, limit) <= 0 || (!allowAvoided && avoided?.has(id) === true)) {
          continue;
        }
        const key: [number, number] = [perSender.get(sender)?.get(id) ?? 0, -room(id, limit)];
        if (bestKey === undefined || key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
          best = id;
          bestKey = key;
        }
      }
      return best;
    };
    const chosen =
      pick(quota, false) ?? pick(capacityOf, false) ?? pick(quota, true) ?? pick(capacityOf, true);
    if (chosen === undefined) {
      unassigned.push(slot);
    } else {
      place(slot, chosen);
    }
  }
  const moved = sorted.filter((slot) => {
    const before = current.get(slot);
    return before !== undefined && result.get(slot) !== before;
  });
  return { assignment: result, unassigned, moved };
}
