import type { Random } from "./random.ts";

/** How long the emulator waits before answering (ACK/NACK) a downstream message. */
export type LatencyDistribution =
  | { kind: "fixed"; ms: number }
  | { kind: "uniform"; minMs: number; maxMs: number }
  | { kind: "exponential"; meanMs: number; maxMs?: number };

/** True when every sample is 0 ms: answers are written synchronously, without any timer. */
export function isZeroLatency(d: LatencyDistribution): boolean {
  return d.kind === "fixed" ? d.ms === 0 : d.kind === "uniform" ? d.maxMs === 0 : d.meanMs === 0;
}

/** Draws one latency in whole milliseconds (>= 0). */
export function sampleLatency(d: LatencyDistribution, random: Random): number {
  switch (d.kind) {
    case "fixed":
      return d.ms;
    case "uniform":
      return d.minMs + Math.floor(random.next() * (d.maxMs - d.minMs + 1));
    case "exponential": {
      if (d.meanMs === 0) return 0;
      const raw = Math.round(-Math.log(1 - random.next()) * d.meanMs);
      return d.maxMs === undefined ? raw : Math.min(raw, d.maxMs);
    }
  }
}
