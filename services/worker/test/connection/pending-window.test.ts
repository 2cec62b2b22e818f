import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SendResult } from "../../src/connection/contract.ts";
import { IllegalStateError } from "../../src/connection/errors.ts";
import { PendingWindow } from "../../src/connection/pending-window.ts";
import { FakeClock } from "./support/fake-clock.ts";

function setup(windowSize = 4, answerTimeoutMs = 1000) {
  const clock = new FakeClock();
  const timeouts: number[] = [];
  const window = new PendingWindow({
    windowSize,
    answerTimeoutMs,
    clock,
    onTimeout: (n) => timeouts.push(n),
  });
  const results = new Map<string, SendResult>();
  const add = (id: string): void => window.add(id, (r) => results.set(id, r));
  return { clock, window, results, add, timeouts };
}

describe("PendingWindow", () => {
  it("counts pending and room, settles by message_id", () => {
    const { window, results, add } = setup();
    add("a");
    add("b");
    expect(window.pending).toBe(2);
    expect(window.room()).toBe(2);
    expect(window.settle("a", { kind: "ack" })).toBe("settled");
    expect(results.get("a")).toEqual({ kind: "ack" });
    expect(window.settle("a", { kind: "ack" })).toBe("unknown");
    expect(window.pending).toBe(1);
  });

  it("refuses to exceed the window and refuses a duplicate live id", () => {
    const { window, add } = setup(2);
    add("a");
    expect(() => add("a")).toThrow(IllegalStateError);
    add("b");
    expect(window.room()).toBe(0);
    expect(() => add("c")).toThrow(IllegalStateError);
  });

  it("settles timed-out sends as lost/answer-timeout but keeps them as ghosts until a late answer", () => {
    const { clock, window, results, add, timeouts } = setup(4, 1000);
    add("a");
    clock.advance(500);
    add("b");
    clock.advance(499);
    expect(results.size).toBe(0);
    clock.advance(1);
    expect(results.get("a")).toEqual({ kind: "lost", reason: "answer-timeout" });
    expect(results.has("b")).toBe(false);
    expect(window.ghosts).toBe(1);
    expect(window.pending).toBe(2);
    expect(window.room()).toBe(2);
    clock.advance(500);
    expect(results.get("b")).toEqual({ kind: "lost", reason: "answer-timeout" });
    expect(timeouts).toEqual([1, 1]);
    expect(window.live).toBe(0);
    // Late answer: frees the ghost slot, does not settle anything again.
    expect(window.settle("a", { kind: "ack" })).toBe("ghost");
    expect(results.get("a")).toEqual({ kind: "lost", reason: "answer-timeout" });
    expect(window.pending).toBe(1);
    expect(clock.timers).toBe(0);
  });

  it("an early answer does not keep the timer firing for nothing; the next entry still times out", () => {
    const { clock, window, results, add } = setup(4, 1000);
    add("a");
    clock.advance(100);
    add("b");
    window.settle("a", { kind: "ack" });
    clock.advance(900);
    expect(results.has("b")).toBe(false);
    clock.advance(100);
    expect(results.get("b")).toEqual({ kind: "lost", reason: "answer-timeout" });
  });

  it("a resent id that is a ghost becomes live again; answers settle the live one first", () => {
    const { clock, window, results, add } = setup(4, 1000);
    add("a");
    clock.advance(1000);
    results.clear();
    add("a");
    expect(window.pending).toBe(2);
    expect(window.settle("a", { kind: "ack" })).toBe("settled");
    expect(results.get("a")).toEqual({ kind: "ack" });
    expect(window.settle("a", { kind: "ack" })).toBe("ghost");
    expect(window.pending).toBe(0);
  });

  it("close() settles every live send as the given result, clears ghosts, and refuses new ones", () => {
    const { clock, window, results, add } = setup(4, 1000);
    add("a");
    clock.advance(1000);
    add("b");
    add("c");
    const lost: SendResult = { kind: "lost", reason: "connection-closed" };
    expect(window.close(lost)).toBe(2);
    expect(results.get("b")).toEqual(lost);
    expect(results.get("c")).toEqual(lost);
    expect(window.pending).toBe(0);
    expect(window.room()).toBe(0);
    expect(() => add("d")).toThrow(IllegalStateError);
    expect(clock.timers).toBe(0);
  });

  it("property: pending never exceeds the window and every send settles exactly once", () => {
    const op = fc.oneof(
      fc.record({ t: fc.constant("add" as const), id: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ t: fc.constant("answer" as const), id: fc.integer({ min: 0, max: 20 }) }),
      fc.record({ t: fc.constant("tick" as const), ms: fc.integer({ min: 0, max: 600 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(op, { maxLength: 200 }), (size, ops) => {
        const clock = new FakeClock();
        const window = new PendingWindow({ windowSize: size, answerTimeoutMs: 1000, clock });
        const settledCount = new Map<number, number>();
        let adds = 0;
        for (const o of ops) {
          if (o.t === "add") {
            if (window.room() > 0 && !window.has(String(o.id))) {
              const n = adds++;
              window.add(String(o.id), () => settledCount.set(n, (settledCount.get(n) ?? 0) + 1));
            }
          } else if (o.t === "answer") window.settle(String(o.id), { kind: "ack" });
          else clock.advance(o.ms);
          expect(window.pending).toBeLessThanOrEqual(size);
          expect(window.pending).toBe(window.live + window.ghosts);
        }
        window.close({ kind: "lost", reason: "connection-closed" });
        expect(settledCount.size).toBe(adds);
        for (const c of settledCount.values()) expect(c).toBe(1);
      }),
    );
  });
});
