// Events per second over a sliding window of one-second buckets (for the status page).

export class RateMeter {
  readonly #buckets: number[];
  readonly #now: () => number;
  #second: number;
  #total = 0;

  constructor(windowSeconds = 10, now: () => number = Date.now) {
    this.#buckets = new Array<number>(windowSeconds).fill(0);
    this.#now = now;
    this.#second = Math.floor(now() / 1000);
  }

  get total(): number {
    return this.#total;
  }

  #advance(): void {
    const second = Math.floor(this.#now() / 1000);
    const steps = Math.min(second - this.#second, this.#buckets.length);
    for (let i = 1; i <= steps; i++) {
      this.#buckets[(this.#second + i) % this.#buckets.length] = 0;
    }
    if (second > this.#second) {
      this.#second = second;
    }
  }

  mark(n = 1): void {
    this.#advance();
    const i = this.#second % this.#buckets.length;
    this.#buckets[i] = (this.#buckets[i] ?? 0) + n;
    this.#total += n;
  }

  /** Average per second over the completed seconds of the window. */
  perSecond(): number {
    this.#advance();
    const current = this.#second % this.#buckets.length;
    let sum = 0;
    this.#buckets.forEach((v, i) => {
      if (i !== current) sum += v;
    });
    return sum / (this.#buckets.length - 1);
  }
}
