/**
 * One sender's flow: JetStream work -> CCS sends on that sender's connections -> outcomes.
 *
 * The parts (each in its own file):
 * - LanePool (lane-pool.ts): a Lane per online connection, each pulling on the sender's shared
 *   durable consumer within the pull budget; fences (coordinated mode) checked before every pull and send.
 * - MessageIntake (message-intake.ts): what the pulls deliver -> held work, or an outcome at once.
 * - SendScheduler (send-scheduler.ts): unsent work onto lanes with room, the sends, the retry decision.
 * - HeldMessages (held-messages.ts): how a held message ends (outcome published, then acked; or
 *   handed back), and the keep-alive sweep.
 * - DispatchState (dispatch-state.ts): what they share.
 *
 * This class is the public face: slots in and out, stats, and the lifecycle
 * running -> stopping (no pulls, unsent work handed back at once, sends in flight finish within the
 * grace) -> stopped (last outcomes published, pulls closed).
 */
import type { Logger } from "@ccs/telemetry";
import type { Consumer } from "@nats-io/jetstream";
import type { SlotFence } from "../assignment/assignment-source.ts";
import type { ConnectionSlot } from "../connection/contract.ts";
import { IllegalStateError } from "../connection/errors.ts";
import type { WorkerMetrics } from "../metrics.ts";
import { DispatchState } from "./dispatch-state.ts";
import { HeldMessages } from "./held-messages.ts";
import { LanePool } from "./lane-pool.ts";
import { MessageIntake } from "./message-intake.ts";
import type { PreparationLimits } from "./message-preparation.ts";
import type { OutcomeSink } from "./outcome-publisher.ts";
import type { RetryPolicyConfig } from "./retry-policy.ts";
import { SendScheduler } from "./send-scheduler.ts";

/** Lifecycle: running -> stopping (no pulls, hand back unsent) -> stopped. */
export type DispatcherState = "running" | "stopping" | "stopped";

export interface FetchSettings {
  /** Pull more once this fraction of a window is free (0..1). */
  readonly refillThreshold: number;
  /** Lifetime of one pull request, ms (>= 1000). */
  readonly expiresMs: number;
  /** Unsent work that finds no connection for this long is handed back to JetStream. */
  readonly maxQueueWaitMs: number;
}

export interface SenderDispatcherOptions {
  readonly senderId: string;
  readonly workerId: string;
  readonly consumer: Consumer;
  readonly outcomes: OutcomeSink;
  readonly retry: RetryPolicyConfig;
  readonly limits: PreparationLimits;
  readonly fetch: FetchSettings;
  /** The consumer's ack_wait: held messages get working() well before it runs out. */
  readonly ackWaitMs: number;
  readonly metrics: WorkerMetrics;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly random?: () => number;
}

export class SenderDispatcher {
  readonly senderId: string;
  readonly #s: DispatchState;
  readonly #held: HeldMessages;
  readonly #lanes: LanePool;
  readonly #scheduler: SendScheduler;
  readonly #intake: MessageIntake;
  readonly #sweep: NodeJS.Timeout;

  constructor(options: SenderDispatcherOptions) {
    this.senderId = options.senderId;
    const s = new DispatchState(options);
    this.#s = s;
    this.#held = new HeldMessages(s);
    // The lanes hand their deliveries to the intake and their room to the scheduler, both made below.
    this.#lanes = new LanePool(s, this.#held, {
      onMessage: (lane, msg) => this.#intake.onMessage(lane, msg),
      pump: (lane) => this.#scheduler.pump(lane),
      pumpAll: () => this.#scheduler.pumpAll(),
    });
    this.#scheduler = new SendScheduler(s, this.#lanes, this.#held);
    this.#intake = new MessageIntake(s, this.#lanes, this.#held, this.#scheduler);
    const sweepMs = Math.max(250, Math.floor(options.ackWaitMs / 4));
    this.#sweep = setInterval(() => this.#keepAlive(), sweepMs);
    this.#sweep.unref();
  }

  get state(): DispatcherState {
    return this.#s.lifecycle;
  }

  #setState(next: DispatcherState): void {
    const s = this.#s;
    if (next === s.lifecycle) return;
    s.log.info({ from: s.lifecycle, to: next }, "dispatcher state");
    s.lifecycle = next;
  }

  /** Numbers for tests and logs. */
  stats(): { held: number; unsent: number; sending: number; lanes: number; outstanding: number } {
    return {
      held: this.#held.size,
      unsent: this.#s.unsent,
      sending: this.#s.sending,
      lanes: this.#lanes.size,
      outstanding: this.#lanes.outstanding(),
    };
  }

  /** Sends through the slot's online connections; with a `fence`, only while it is valid. */
  addSlot(slot: ConnectionSlot, fence?: SlotFence): void {
    if (this.#s.lifecycle !== "running") throw new IllegalStateError(`addSlot while ${this.#s.lifecycle}`);
    this.#lanes.addSlot(slot, fence);
  }

  /**
   * Stops using the slot's connections for new sends and pulls (its sends in flight still settle).
   * A fenced slot (revoked by the coordinator) also hands its unsent work back to JetStream when no
   * other lane of the sender is left to take it.
   */
  removeSlot(slot: ConnectionSlot): void {
    this.#lanes.removeSlot(slot);
  }

  #keepAlive(): void {
    const now = this.#s.now();
    this.#scheduler.pruneCooldowns(now);
    this.#held.keepAlive(now);
  }

  // ---- shutdown -------------------------------------------------------------------------------

  /**
   * Stops taking work: no new pulls, unsent messages (queued or waiting for a retry) are handed
   * back at once, and resolves when the sends in flight have settled or `graceMs` passed.
   */
  async drain(graceMs: number): Promise<void> {
    const s = this.#s;
    if (s.lifecycle === "running") {
      this.#setState("stopping");
      this.#lanes.stopAll();
      for (const item of s.anyQueue.splice(0)) this.#held.handBack(item);
      this.#held.handBackWaiting();
    }
    await s.idle.waitUntil(() => s.sending === 0, graceMs);
  }

  /** After the connections closed: waits for the last outcome publishes, then closes the pulls. */
  async close(deadlineMs: number): Promise<void> {
    const s = this.#s;
    if (s.lifecycle === "running") await this.drain(0);
    await s.idle.waitUntil(() => this.#held.size === 0, deadlineMs);
    clearInterval(this.#sweep);
    await this.#lanes.close();
    if (this.#held.size > 0) {
      s.log.warn({ held: this.#held.size }, "closing with messages un-acked; JetStream will redeliver them");
    }
    this.#setState("stopped");
  }
}
