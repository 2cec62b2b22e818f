import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assign, type SlotId, slotsOf, type WorkerCapacity } from "../src/index.ts";

const senderArb = fc.uniqueArray(
  fc.record({ senderId: fc.stringMatching(/^[0-9]{1,4}$/), connections: fc.integer({ min: 0, max: 8 }) }),
  { selector: (s) => s.senderId, maxLength: 6 },
);
const workersArb = fc.uniqueArray(
  fc.record({ workerId: fc.stringMatching(/^w[0-9]{1,3}$/), capacity: fc.integer({ min: 0, max: 12 }) }),
  { selector: (w) => w.workerId, maxLength: 6 },
);

function counts(assignment: ReadonlyMap<SlotId, string>): Map<string, number> {
  const out = new Map<string, number>();
  for (const w of assignment.values()) {
    out.set(w, (out.get(w) ?? 0) + 1);
  }
  return out;
}

describe("assign()", () => {
  it("assigns every slot exactly once when capacity suffices, and never exceeds a worker's capacity", () => {
    fc.assert(
      fc.property(senderArb, workersArb, (senders, workers) => {
        const slots = slotsOf(senders);
        const capacity = workers.reduce((s, w) => s + w.capacity, 0);
        const { assignment, unassigned } = assign(slots, workers, new Map());
        const c = counts(assignment);
        for (const w of workers) {
          expect(c.get(w.workerId) ?? 0).toBeLessThanOrEqual(w.capacity);
        }
        if (slots.length <= capacity) {
          expect(unassigned).toEqual([]);
          expect([...assignment.keys()].sort()).toEqual([...slots].sort());
        } else {
          expect(assignment.size).toBe(capacity);
          expect(assignment.size + unassigned.length).toBe(slots.length);
        }
      }),
    );
  });

  it("spreads by capacity: each worker's load is within one of its proportional share", () => {
    fc.assert(
      fc.property(senderArb, workersArb, (senders, workers) => {
        const slots = slotsOf(senders);
        const capacity = workers.reduce((s, w) => s + w.capacity, 0);
        fc.pre(slots.length <= capacity && capacity > 0);
        const c = counts(assign(slots, workers, new Map()).assignment);
        for (const w of workers) {
          const share = (slots.length * w.capacity) / capacity;
          expect(Math.abs((c.get(w.workerId) ?? 0) - share)).toBeLessThan(1 + 1e-9);
        }
      }),
    );
  });

  it("is deterministic and idempotent (a second run with its own output moves nothing)", () => {
    fc.assert(
      fc.property(senderArb, workersArb, (senders, workers) => {
        const slots = slotsOf(senders);
        const first = assign(slots, workers, new Map());
        const again = assign(slots, [...workers].reverse(), new Map());
        expect([...again.assignment.entries()].sort()).toEqual([...first.assignment.entries()].sort());
        const stable = assign(slots, workers, first.assignment);
        expect(stable.moved).toEqual([]);
      }),
    );
  });

  it("on leave, only the leaving worker's slots move", () => {
    fc.assert(
      fc.property(senderArb, workersArb, fc.nat(), (senders, workers, pick) => {
        fc.pre(workers.length >= 2);
        const slots = slotsOf(senders);
        const before = assign(slots, workers, new Map()).assignment;
        const leaving = workers[pick % workers.length]?.workerId ?? "";
        const rest = workers.filter((w) => w.workerId !== leaving);
        fc.pre(slots.length <= rest.reduce((s, w) => s + w.capacity, 0));
        const after = assign(slots, rest, before);
        for (const [slot, owner] of before) {
          if (owner !== leaving) {
            expect(after.assignment.get(slot)).toBe(owner);
          }
        }
        expect(after.unassigned).toEqual([]);
      }),
    );
  });

  it("on join, moves only what the new quotas require (at most the joiner's share plus rounding)", () => {
    fc.assert(
      fc.property(senderArb, workersArb, fc.integer({ min: 1, max: 12 }), (senders, workers, cap) => {
        const slots = slotsOf(senders);
        const before = assign(slots, workers, new Map());
        const joined = [...workers, { workerId: "wnew", capacity: cap }];
        const after = assign(slots, joined, before.assignment);
        const newLoad = counts(after.assignment).get("wnew") ?? 0;
        // Every moved slot went to the new worker, or was previously unassigned, or is rounding slack.
        const movedAway = after.moved.filter((s) => after.assignment.get(s) !== "wnew").length;
        expect(movedAway).toBeLessThanOrEqual(workers.length);
        expect(after.moved.length).toBeLessThanOrEqual(newLoad + workers.length);
        expect(newLoad).toBeLessThanOrEqual(cap);
      }),
    );
  });

  it("moves a slot away from an avoided owner when another worker has room", () => {
    const slots = slotsOf([{ senderId: "1", connections: 2 }]);
    const workers: WorkerCapacity[] = [
      { workerId: "a", capacity: 2 },
      { workerId: "b", capacity: 2 },
    ];
    const current = new Map([
      ["1:0", "a"],
      ["1:1", "b"],
    ]);
    const { assignment, moved } = assign(slots, workers, current, {
      avoid: new Map([["1:0", new Set(["a"])]]),
    });
    expect(assignment.get("1:0")).toBe("b");
    expect(moved).toEqual(["1:0"]);
  });

  it("spreads one sender's slots across workers", () => {
    const slots = slotsOf([{ senderId: "7", connections: 4 }]);
    const { assignment } = assign(
      slots,
      [
        { workerId: "a", capacity: 10 },
        { workerId: "b", capacity: 10 },
      ],
      new Map(),
    );
    expect(counts(assignment)).toEqual(
      new Map([
        ["a", 2],
        ["b", 2],
      ]),
    );
  });
});
