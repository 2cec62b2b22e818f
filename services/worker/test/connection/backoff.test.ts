import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Backoff } from "../../src/connection/backoff.ts";

describe("Backoff", () => {
  it("doubles from initialMs up to maxMs without jitter, and reset() starts over", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(b.attempts).toBe(6);
    b.reset();
    expect(b.next()).toBe(100);
  });

  it("property: a jittered delay lies in [base·(1−jitter), base] and never exceeds maxMs", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 1, maxLength: 40 }),
        (initialMs, extra, jitter, randoms) => {
          const maxMs = initialMs + extra;
          let i = 0;
          const b = new Backoff({ initialMs, maxMs, jitter }, () => randoms[i++ % randoms.length] ?? 0);
          for (let k = 0; k < randoms.length; k++) {
            const base = b.base();
            const d = b.next();
            expect(d).toBeLessThanOrEqual(maxMs);
            expect(d).toBeLessThanOrEqual(Math.round(base));
            expect(d).toBeGreaterThanOrEqual(Math.floor(base * (1 - jitter)));
          }
        },
      ),
    );
  });

  it("jitter spreads delays of many clients (not all equal)", () => {
    const delays = new Set<number>();
    for (let i = 0; i < 20; i++)
      delays.add(new Backoff({ initialMs: 1000, maxMs: 60_000, jitter: 0.5 }).next());
    expect(delays.size).toBeGreaterThan(1);
  });
});
