// Monotonic time. Lease validity is measured on this clock, never on the wall clock: a wall-clock step
// cannot extend a lease, and time spent frozen (SIGSTOP) counts, so a resumed owner sees its lease gone.

import { performance } from "node:perf_hooks";

/** Milliseconds on a monotonic clock (CLOCK_MONOTONIC; keeps running while the process is stopped). */
export type MonotonicNow = () => number;

export const monotonicNow: MonotonicNow = () => performance.now();

/** Resolves after `ms`; rejects early with the signal's reason when aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A delay with ±`jitter` fraction of random spread (e.g. 0.2 → 80%..120%). */
export function jittered(ms: number, jitter = 0.2): number {
  return Math.max(0, Math.round(ms * (1 - jitter + Math.random() * 2 * jitter)));
}
