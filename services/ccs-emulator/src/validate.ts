import { InvalidOptionError } from "./errors.ts";
import type { LatencyDistribution } from "./latency.ts";

/** Small readers for untyped input (options, admin bodies): each throws InvalidOptionError naming `path`. */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function requireRecord(value: unknown, path: string): Record<string, unknown> {
  if (!isRecord(value)) throw new InvalidOptionError(`${path} must be an object`);
  return value;
}

/** Rejects keys not in `allowed`, so that a typo does not silently do nothing. */
export function rejectUnknownKeys(
  obj: Record<string, unknown>,
  allowed: readonly string[],
  path: string,
): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new InvalidOptionError(`${path}: unknown field "${key}" (allowed: ${allowed.join(", ")})`);
    }
  }
}

export function readInt(value: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(`${path} must be an integer between ${min} and ${max}`);
  }
  return value;
}

export function readNumber(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidOptionError(`${path} must be a number between ${min} and ${max}`);
  }
  return value;
}

export function readBool(value: unknown, path: string): boolean {
  if (typeof value !== "boolean") throw new InvalidOptionError(`${path} must be true or false`);
  return value;
}

export function readString(value: unknown, path: string, maxLength = 4096): string {
  if (typeof value !== "string" || value.length === 0 || value.length > maxLength) {
    throw new InvalidOptionError(`${path} must be a non-empty string of at most ${maxLength} characters`);
  }
  return value;
}

export function readStringArray(value: unknown, path: string, maxItems = 1_000_000): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > maxItems) {
    throw new InvalidOptionError(`${path} must be a non-empty array of strings (at most ${maxItems})`);
  }
  return value.map((item, i) => readString(item, `${path}[${i}]`));
}

/** Largest latency accepted anywhere: one hour. */
export const MAX_LATENCY_MS = 3_600_000;

export function readLatency(value: unknown, path: string): LatencyDistribution {
  const obj = requireRecord(value, path);
  switch (obj.kind) {
    case "fixed":
      rejectUnknownKeys(obj, ["kind", "ms"], path);
      return { kind: "fixed", ms: readInt(obj.ms, `${path}.ms`, 0, MAX_LATENCY_MS) };
    case "uniform": {
      rejectUnknownKeys(obj, ["kind", "minMs", "maxMs"], path);
      const minMs = readInt(obj.minMs, `${path}.minMs`, 0, MAX_LATENCY_MS);
      const maxMs = readInt(obj.maxMs, `${path}.maxMs`, 0, MAX_LATENCY_MS);
      if (maxMs < minMs) throw new InvalidOptionError(`${path}.maxMs must be >= ${path}.minMs`);
      return { kind: "uniform", minMs, maxMs };
    }
    case "exponential": {
      rejectUnknownKeys(obj, ["kind", "meanMs", "maxMs"], path);
      const meanMs = readInt(obj.meanMs, `${path}.meanMs`, 0, MAX_LATENCY_MS);
      if (obj.maxMs === undefined) return { kind: "exponential", meanMs };
      return { kind: "exponential", meanMs, maxMs: readInt(obj.maxMs, `${path}.maxMs`, 0, MAX_LATENCY_MS) };
    }
    default:
      throw new InvalidOptionError(`${path}.kind must be "fixed", "uniform" or "exponential"`);
  }
}
