/**
 * The JetStream messages one sender's dispatcher holds, and how each one ends: its outcome published,
 * then the message acked (at-least-once); or handed back to JetStream (nak) for another delivery.
 * Meanwhile the keep-alive sweep signals working() well before ack_wait runs out, and hands back work
 * that found no lane for too long.
 */
import { errorFields } from "@ccs/telemetry";
import type { SlotFence } from "../assignment/assignment-source.ts";
import { Metric } from "../metrics.ts";
import { type DispatchState, type Held, unpin, type WorkItem } from "./dispatch-state.ts";
import { buildOutcome, type Verdict } from "./outcome.ts";
import { totalRetries } from "./retry-policy.ts";

/** What the outcome says about the message besides its verdict. */
export interface FinishContext {
  messageId: string;
  to: string | null;
  attempts: number;
  retries: number;
  deliveries: number;
  publishedAtMs: number;
  firstSentAtMs?: number;
  connectionId?: string;
  fence?: SlotFence;
}

export class HeldMessages {
  readonly #s: DispatchState;
  /** Every JetStream message this dispatcher holds (not yet acked or handed back). */
  readonly #held = new Set<Held>();
  /** Stream sequences held: a redelivery of one (ack_wait passed while we held it) is ignored. */
  readonly #heldSeqs = new Set<number>();

  constructor(state: DispatchState) {
    this.#s = state;
  }

  get size(): number {
    return this.#held.size;
  }

  /** Whether the message with this stream sequence is held already (its delivery is a redelivery). */
  holdsSeq(seq: number): boolean {
    return this.#heldSeqs.has(seq);
  }

  hold(held: Held): void {
    this.#held.add(held);
    this.#heldSeqs.add(held.msg.seq);
  }

  /** Publishes the item's outcome, then acks it. */
  finishItem(item: WorkItem, verdict: Verdict): void {
    this.finish(item, verdict, {
      messageId: item.messageId,
      to: item.to,
      attempts: item.attempts,
      retries: totalRetries(item.retries),
      deliveries: item.deliveries,
      publishedAtMs: item.publishedAtMs,
      ...(item.firstSentAt === undefined ? {} : { firstSentAtMs: item.firstSentAt }),
      ...(item.connectionId === undefined ? {} : { connectionId: item.connectionId }),
      ...(item.fence === undefined ? {} : { fence: item.fence }),
    });
  }

  /** Publishes the message's outcome; once it is durable, acks the message. */
  finish(held: Held, verdict: Verdict, ctx: FinishContext): void {
    held.state = "publishing";
    const s = this.#s;
    const m = s.options.metrics;
    switch (verdict.status) {
      case "acked":
        m.inc(Metric.Acked);
        break;
      case "nacked":
        m.inc(Metric.Nacked, verdict.code);
        break;
      case "rejected":
        m.inc(Metric.Rejected, verdict.code);
        break;
      case "expired":
        m.inc(Metric.Expired);
        break;
    }
    const { fence, ...rest } = ctx;
    const outcome = buildOutcome(verdict, {
      ...rest,
      ...(fence === undefined ? {} : { fence: { slot: fence.slot, token: fence.token } }),
      senderId: s.senderId,
      completedAtMs: s.now(),
      workerId: s.options.workerId,
    });
    s.options.outcomes.publish(outcome).then(
      (durable) => {
        // Only once the outcome is durable is the work message acked (at-least-once).
        if (durable) held.msg.ack();
        this.#release(held);
      },
      (err: unknown) => {
        s.log.error({ ...errorFields(err), messageId: ctx.messageId }, "outcome publish failed for good");
        this.#release(held);
      },
    );
  }

  /** Gives the message back to JetStream for another delivery (nak, optionally delayed). */
  handBack(item: WorkItem, delayMs?: number): void {
    if (item.timer !== undefined) {
      clearTimeout(item.timer);
      item.timer = undefined;
    }
    if (item.state === "queued" || item.state === "waiting") this.#s.unsent--;
    unpin(item);
    item.msg.nak(delayMs);
    this.#s.options.metrics.inc(Metric.HandedBack);
    this.#release(item);
  }

  /** Shutdown: items waiting for a retry or a device cool-down go back to JetStream at once. */
  handBackWaiting(): void {
    for (const held of [...this.#held]) {
      const item = held as WorkItem;
      if (item.state === "waiting") this.handBack(item);
    }
  }

  #release(held: Held): void {
    this.#held.delete(held);
    this.#heldSeqs.delete(held.msg.seq);
    if (this.#held.size === 0 || this.#s.sending === 0) this.#s.idle.wake();
  }

  /** The periodic sweep: working() for what is held long enough; stale unsent work handed back. */
  keepAlive(now: number): void {
    const s = this.#s;
    const touchEvery = s.options.ackWaitMs / 3;
    for (const held of this.#held) {
      if (now - held.touchedAt >= touchEvery) {
        held.msg.working();
        held.touchedAt = now;
      }
    }
    // Work no lane could take for too long goes back to JetStream (maybe another worker has room).
    // One pass: the queue keeps its fresh items in order, the stale ones are handed back in order.
    const queue = s.anyQueue;
    const maxWaitMs = s.options.fetch.maxQueueWaitMs;
    let stale: WorkItem[] | undefined;
    let kept = 0;
    for (const item of queue) {
      if (now - item.queuedAt < maxWaitMs) queue[kept++] = item;
      else if (stale === undefined) stale = [item];
      else stale.push(item);
    }
    if (stale === undefined) return;
    queue.length = kept;
    for (const item of stale) this.handBack(item);
  }
}
