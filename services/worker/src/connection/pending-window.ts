// The pending window of one connection: downstream messages sent and not yet answered, keyed by
// message_id (xmpp.js iq/caller shape: a Map of deferreds with a timeout and cleanup on every path).
//
// Answer timeouts: the timeout is the same for every entry, so Map insertion order is deadline order
// and one timer, armed for the oldest entry, serves the whole window.
// A timed-out entry settles as lost/answer-timeout but stays counted as a "ghost": CCS still counts the
// message as pending, so its slot stays occupied until a late answer arrives or the connection is recycled.
import type { Clock, TimerHandle } from "./clock.ts";
import type { SendResult } from "./contract.ts";
import { IllegalStateError } from "./errors.ts";

export interface PendingWindowOptions {
  readonly windowSize: number;
  readonly answerTimeoutMs: number;
  readonly clock: Clock;
  /** Called after entries timed out (with how many), once per sweep. */
  readonly onTimeout?: (expired: number) => void;
}

interface Entry {
  readonly resolve: (result: SendResult) => void;
  readonly deadline: number;
}

/** What an answer for a message_id matched. */
export type SettleOutcome = "settled" | "ghost" | "unknown";

const ANSWER_TIMEOUT: SendResult = Object.freeze({ kind: "lost", reason: "answer-timeout" });

export class PendingWindow {
  readonly windowSize: number;
  readonly #answerTimeoutMs: number;
  readonly #clock: Clock;
  readonly #onTimeout: ((expired: number) => void) | undefined;
  readonly #live = new Map<string, Entry>();
  /** message_id → how many timed-out sends with that id CCS may still count as pending. */
  readonly #ghosts = new Map<string, number>();
  #ghostCount = 0;
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(options: PendingWindowOptions) {
    this.windowSize = options.windowSize;
    this.#answerTimeoutMs = options.answerTimeoutMs;
    this.#clock = options.clock;
    this.#onTimeout = options.onTimeout;
  }

  /** Live entries plus ghosts: what CCS counts as pending on this connection. */
  get pending(): number {
    return this.#live.size + this.#ghostCount;
  }

  /** Sends still waiting for their answer (settle() will resolve them). */
  get live(): number {
    return this.#live.size;
  }

  /** Timed-out sends whose window slot is still occupied. */
  get ghosts(): number {
    return this.#ghostCount;
  }

  room(): number {
    return this.#closed ? 0 : Math.max(0, this.windowSize - this.pending);
  }

  has(messageId: string): boolean {
    return this.#live.has(messageId);
  }

  /** Registers a send. Throws IllegalStateError when the window is full/closed or the id is already live. */
  add(messageId: string, resolve: (result: SendResult) => void): void {
    if (this.room() <= 0) {
      throw new IllegalStateError(`pending window full (${this.pending}/${this.windowSize}) or closed`);
    }
    if (this.#live.has(messageId)) {
      throw new IllegalStateError(`message_id ${messageId} is already pending on this connection`);
    }
    this.#live.set(messageId, { resolve, deadline: this.#clock.now() + this.#answerTimeoutMs });
    if (this.#timer === undefined) this.#arm(this.#answerTimeoutMs);
  }

  /**
   * Settles the live send with this id. An answer for a timed-out id frees its ghost slot instead.
   * A live entry wins over a ghost with the same id (the message was resent; answers are interchangeable).
   */
  settle(messageId: string, result: SendResult): SettleOutcome {
    const entry = this.#live.get(messageId);
    if (entry !== undefined) {
      this.#live.delete(messageId);
      entry.resolve(result);
      return "settled";
    }
    const ghosts = this.#ghosts.get(messageId);
    if (ghosts !== undefined) {
      if (ghosts <= 1) this.#ghosts.delete(messageId);
      else this.#ghosts.set(messageId, ghosts - 1);
      this.#ghostCount--;
      return "ghost";
    }
    return "unknown";
  }

  /** Settles every live send with `result`, forgets the ghosts and refuses further adds. Returns how many settled. */
  close(result: SendResult): number {
    this.#closed = true;
    this.#disarm();
    const entries = [...this.#live.values()];
    this.#live.clear();
    this.#ghosts.clear();
    this.#ghostCount = 0;
    for (const entry of entries) entry.resolve(result);
    return entries.length;
  }

  #arm(ms: number): void {
    this.#timer = this.#clock.setTimeout(() => this.#sweep(), Math.max(0, ms));
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #sweep(): void {
    this.#timer = undefined;
    const now = this.#clock.now();
    const expired: Entry[] = [];
    for (const [id, entry] of this.#live) {
      if (entry.deadline > now) {
        this.#arm(entry.deadline - now);
        break;
      }
      this.#live.delete(id);
      this.#ghosts.set(id, (this.#ghosts.get(id) ?? 0) + 1);
      this.#ghostCount++;
      expired.push(entry);
    }
    for (const entry of expired) entry.resolve(ANSWER_TIMEOUT);
    if (expired.length > 0) this.#onTimeout?.(expired.length);
  }
}
