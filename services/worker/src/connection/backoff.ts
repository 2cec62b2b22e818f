// Exponential backoff with jitter for failures before authentication (refused key, unreachable host).
// After a disconnect that follows authentication CCS wants an immediate reconnect: the slot resets this.

export interface BackoffOptions {
  /** First delay in ms. */
  readonly initialMs: number;
  /** Upper bound of the (un-jittered) delay in ms; a jittered delay never exceeds it either. */
  readonly maxMs: number;
  /** Fraction in [0, 1]: each delay is drawn uniformly from [base·(1−jitter), base]. */
  readonly jitter: number;
}

export class Backoff {
  readonly #options: BackoffOptions;
  readonly #random: () => number;
  #attempts = 0;

  constructor(options: BackoffOptions, random: () => number = Math.random) {
    this.#options = options;
    this.#random = random;
  }

  /** Failures since the last reset(). */
  get attempts(): number {
    return this.#attempts;
  }

  /** The un-jittered delay of the next attempt. */
  base(): number {
    const { initialMs, maxMs } = this.#options;
    // 2^attempts overflows to Infinity long before it matters; min() keeps it bounded.
    return Math.min(maxMs, initialMs * 2 ** Math.min(this.#attempts, 52));
  }

  /** Returns the delay before the next attempt and counts the failure. */
  next(): number {
    const base = this.base();
    this.#attempts++;
    const factor = 1 - this.#options.jitter * this.#random();
    return Math.round(base * factor);
  }

  reset(): void {
    this.#attempts = 0;
  }
}
