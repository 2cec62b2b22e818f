import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { newRateState, tryTake } from "../../src/devices/rate-limiter.ts";
import { isZeroLatency, type LatencyDistribution, sampleLatency } from "../../src/latency.ts";
import { createRandom } from "../../src/random.ts";

describe("rate limiter", () => {
  it("lets `messages` through at once, then refills evenly over perMs", () => {
    const limit = { messages: 3, perMs: 300 };
    const s = newRateState(limit, 0);
    expect([tryTake(s, limit, 0), tryTake(s, limit, 0), tryTake(s, limit, 0), tryTake(s, limit, 0)]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(tryTake(s, limit, 50)).toBe(false);
    expect(tryTake(s, limit, 100)).toBe(true);
    expect(tryTake(s, limit, 100)).toBe(false);
    expect(tryTake(s, limit, 10_000)).toBe(true);
  });

  it("never lets more than messages + elapsed*rate through (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 1000 }),
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 200 }),
        (messages, perMs, gaps) => {
          const limit = { messages, perMs };
          const s = newRateState(limit, 0);
          let t = 0;
          let passed = 0;
          for (const gap of gaps) {
            t += gap;
            if (tryTake(s, limit, t)) passed++;
          }
          return passed <= messages + Math.floor((t * messages) / perMs);
        },
      ),
    );
  });
});

describe("seeded random and latency", () => {
  const dists: LatencyDistribution[] = [
    { kind: "fixed", ms: 7 },
    { kind: "uniform", minMs: 2, maxMs: 9 },
    { kind: "exponential", meanMs: 20, maxMs: 100 },
  ];

  it("the same seed gives the same latencies", () => {
    for (const d of dists) {
      const a = createRandom(1234);
      const b = createRandom(1234);
      const xs = Array.from({ length: 100 }, () => sampleLatency(d, a));
      const ys = Array.from({ length: 100 }, () => sampleLatency(d, b));
      expect(xs).toEqual(ys);
    }
  });

  it("different seeds differ", () => {
    const a = createRandom(1);
    const b = createRandom(2);
    expect(Array.from({ length: 10 }, () => a.next())).not.toEqual(
      Array.from({ length: 10 }, () => b.next()),
    );
  });

  it("samples stay in their range (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
        const r = createRandom(seed);
        for (let i = 0; i < 50; i++) {
          const u = sampleLatency({ kind: "uniform", minMs: 2, maxMs: 9 }, r);
          const e = sampleLatency({ kind: "exponential", meanMs: 20, maxMs: 100 }, r);
          const x = r.next();
          if (u < 2 || u > 9 || !Number.isInteger(u) || e < 0 || e > 100 || x < 0 || x >= 1) return false;
        }
        return true;
      }),
    );
  });

  it("the exponential mean is close to meanMs", () => {
    const r = createRandom(99);
    let sum = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) sum += sampleLatency({ kind: "exponential", meanMs: 10 }, r);
    expect(sum / n).toBeGreaterThan(9);
    expect(sum / n).toBeLessThan(11);
  });

  it("knows zero-latency distributions", () => {
    expect(isZeroLatency({ kind: "fixed", ms: 0 })).toBe(true);
    expect(isZeroLatency({ kind: "uniform", minMs: 0, maxMs: 0 })).toBe(true);
    expect(isZeroLatency({ kind: "exponential", meanMs: 0 })).toBe(true);
    expect(isZeroLatency({ kind: "uniform", minMs: 0, maxMs: 1 })).toBe(false);
  });

  it("chance(0) never and chance(1) always", () => {
    const r = createRandom(5);
    for (let i = 0; i < 100; i++) {
      expect(r.chance(0)).toBe(false);
      expect(r.chance(1)).toBe(true);
    }
  });
});
