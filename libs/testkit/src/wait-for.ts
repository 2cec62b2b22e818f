import { InvalidOptionError, WaitTimeoutError } from "./errors.ts";

/** Default pause between two probe attempts. */
export const DEFAULT_WAIT_INTERVAL_MS = 50;

export interface WaitForOptions {
  /** Overall deadline in milliseconds. Required: nothing in the test kit waits forever. */
  readonly timeoutMs: number;
  /** Pause between attempts. Default {@link DEFAULT_WAIT_INTERVAL_MS}. */
  readonly intervalMs?: number;
  /** What is being waited for; it names the condition in the timeout error. */
  readonly description: string;
}

export type WaitProbe<T> = () => Promise<T | undefined | false> | T | undefined | false;

/**
 * Polls `probe` until it returns a value other than `undefined`/`false` and returns that value.
 * A probe that throws counts as "not yet"; the last error is kept for the timeout error.
 * Each attempt is raced against the deadline, so a hanging probe cannot stall the caller.
 * @throws WaitTimeoutError naming `description` and the last probe error.
 */
export async function waitFor<T>(probe: WaitProbe<T>, options: WaitForOptions): Promise<T> {
  const { timeoutMs, description } = options;
  const intervalMs = options.intervalMs ?? DEFAULT_WAIT_INTERVAL_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw new InvalidOptionError(`waitFor(${description}): timeoutMs must be a finite number >= 0`);
  }
  if (!Number.isFinite(intervalMs) || intervalMs < 0) {
    throw new InvalidOptionError(`waitFor(${description}): intervalMs must be a finite number >= 0`);
  }
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const remaining = deadline - Date.now();
    const attempt = await raceDeadline(probe, remaining);
    if (attempt.kind === "value" && attempt.value !== undefined && attempt.value !== false) {
      return attempt.value;
    }
    if (attempt.kind === "error") {
      lastError = attempt.error;
    }
    const left = deadline - Date.now();
    if (left <= 0 || attempt.kind === "deadline") {
      throw new WaitTimeoutError(description, timeoutMs, lastError);
    }
    await delay(Math.min(intervalMs, left));
  }
}

type Attempt<T> =
  | { readonly kind: "value"; readonly value: T | undefined | false }
  | { readonly kind: "error"; readonly error: unknown }
  | { readonly kind: "deadline" };

async function raceDeadline<T>(probe: WaitProbe<T>, remainingMs: number): Promise<Attempt<T>> {
  let timer: NodeJS.Timeout | undefined;
  const run = (async (): Promise<Attempt<T>> => {
    try {
      return { kind: "value", value: await probe() };
    } catch (error) {
      return { kind: "error", error };
    }
  })();
  const deadline = new Promise<Attempt<T>>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "deadline" }), Math.max(0, remainingMs));
  });
  try {
    return await Promise.race([run, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms` milliseconds (used only between polling attempts). */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
