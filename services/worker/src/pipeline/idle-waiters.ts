/**
 * Waits of a dispatcher's shutdown ("until no send is in flight", "until nothing is held") that end
 * early when the dispatcher signals it went idle. The condition is polled at least every 100 ms, so a
 * missed signal only delays the wait, never hangs it.
 */

const POLL_MS = 100;

export class IdleWaiters {
  readonly #now: () => number;
  #waiters: Array<() => void> = [];

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Something settled: every pending wait checks its condition again. */
  wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once `done()` holds or `timeoutMs` passed. */
  async waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = this.#now() + timeoutMs;
    while (!done()) {
      const left = deadline - this.#now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, POLL_MS));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
