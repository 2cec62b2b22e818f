import type { UpstreamGeneratorOptions } from "../config.ts";
import type { Random } from "../random.ts";

/** Tick of the upstream generator. */
export const GENERATOR_TICK_MS = 50;
/** Most messages one tick may produce (bounds bursts after a stalled event loop). */
export const GENERATOR_MAX_PER_TICK = 10_000;

export interface GeneratedUpstream {
  senderId: string | undefined;
  from: string;
  category: string;
  data: Record<string, string>;
}

/** Produces upstream messages at a steady rate over a set of devices and categories (seeded choices). */
export class UpstreamGenerator {
  readonly #emit: (message: GeneratedUpstream) => void;
  readonly #random: Random;
  readonly #clock: () => number;
  #options: UpstreamGeneratorOptions | null = null;
  #timer: NodeJS.Timeout | null = null;
  #credit = 0;
  #last = 0;
  #seq = 0;

  constructor(emit: (message: GeneratedUpstream) => void, random: Random, clock: () => number) {
    this.#emit = emit;
    this.#random = random;
    this.#clock = clock;
  }

  get options(): UpstreamGeneratorOptions | null {
    return this.#options;
  }

  /** Starts, replaces (options) or stops (null) the generator. */
  set(options: UpstreamGeneratorOptions | null): void {
    this.stop();
    this.#options = options;
    if (options === null) return;
    this.#credit = 0;
    this.#last = this.#clock();
    this.#timer = setInterval(() => this.#tick(), GENERATOR_TICK_MS);
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#options = null;
  }

  #tick(): void {
    const options = this.#options;
    if (options === null) return;
    const now = this.#clock();
    this.#credit += ((now - this.#last) * options.ratePerSecond) / 1000;
    this.#last = now;
    let n = Math.min(Math.floor(this.#credit), GENERATOR_MAX_PER_TICK);
    this.#credit -= n;
    if (this.#credit > GENERATOR_MAX_PER_TICK) this.#credit = 0;
    while (n-- > 0) {
      this.#seq++;
      this.#emit({
        senderId: options.senderId,
        from: options.devices[this.#random.int(options.devices.length)] ?? "",
        category: options.categories[this.#random.int(options.categories.length)] ?? "",
        data: { seq: String(this.#seq), generated: "true" },
      });
    }
  }
}
