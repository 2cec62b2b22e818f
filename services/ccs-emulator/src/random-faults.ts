import type { RandomDrainOptions } from "./config.ts";
import type { EmulatorCore } from "./core.ts";

/** Period of the random drain/reset draw. */
export const RANDOM_FAULT_TICK_MS = 1000;

/**
 * Once a second, each online connection is drained with probability perConnectionPerMinute/60 (the
 * randomDrain fault, else the randomDrain option) and reset with the randomReset fault's probability.
 */
export class RandomFaultTicker {
  readonly #core: EmulatorCore;
  #timer: NodeJS.Timeout | null = null;

  constructor(core: EmulatorCore) {
    this.#core = core;
  }

  start(): void {
    if (this.#timer !== null) return;
    this.#timer = setInterval(() => this.tick(), RANDOM_FAULT_TICK_MS);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  tick(): void {
    const core = this.#core;
    const faultDrain = core.faults.randomDrain;
    const drain: RandomDrainOptions | null = faultDrain === undefined ? core.config.randomDrain : faultDrain;
    const reset = core.faults.randomReset ?? null;
    if (drain === null && reset === null) return;
    const pDrain = drain === null ? 0 : drain.perConnectionPerMinute / 60;
    const pReset = reset === null ? 0 : reset.perConnectionPerMinute / 60;
    for (const conn of [...core.connections.values()]) {
      if (conn.state !== "online") continue;
      if (pReset > 0 && core.random.chance(pReset)) {
        core.stats.forSender(conn.senderId).inc("resets");
        conn.close("reset");
      } else if (pDrain > 0 && core.random.chance(pDrain)) {
        conn.drain(core.settings.drainGraceMs);
      }
    }
  }
}
