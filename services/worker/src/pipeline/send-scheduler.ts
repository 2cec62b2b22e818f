/**
 * Moves one sender's unsent work onto lanes with room and sends it, each send guarded by the lane's
 * fence; then turns the SendResult, through the retry policy, into an ending (outcome, then ack) or a
 * retry: same lane (pinned) / another lane / any lane, at once or after a delay (kept alive with
 * working() meanwhile), or a hand-back (nak) when it was lost too often. After a rate NACK nothing
 * more goes to that device until its cool-down ends.
 */
import { errorFields } from "@ccs/telemetry";
import type { SendResult } from "../connection/contract.ts";
import { Metric } from "../metrics.ts";
import { type DispatchState, type Lane, unpin, type WorkItem } from "./dispatch-state.ts";
import type { HeldMessages } from "./held-messages.ts";
import type { LanePool } from "./lane-pool.ts";
import { checkTtl, expiresBefore } from "./message-preparation.ts";
import { WorkerCode } from "./outcome.ts";
import { decide } from "./retry-policy.ts";

export class SendScheduler {
  readonly #s: DispatchState;
  readonly #lanes: LanePool;
  readonly #held: HeldMessages;
  /** Devices that NACKed with a rate error -> time before which nothing more is sent to them. */
  readonly #deviceCooldown = new Map<string, number>();

  constructor(state: DispatchState, lanes: LanePool, held: HeldMessages) {
    this.#s = state;
    this.#lanes = lanes;
    this.#held = held;
  }

  // ---- from the queues onto the lanes ---------------------------------------------------------

  pumpAll(): void {
    for (const lane of this.#lanes.values()) {
      if (this.#s.anyQueue.length === 0) break;
      this.pump(lane);
    }
  }

  /** Sends what waits for the lane (pinned first, then the shared queue) while it has room; pulls more. */
  pump(lane: Lane): void {
    if (!lane.active || this.#s.lifecycle !== "running") return;
    while (lane.active && lane.conn.room() > 0) {
      const item = lane.ready.shift() ?? this.#takeAny(lane);
      if (item === undefined) break;
      this.send(lane, item);
    }
    this.#lanes.maybePull(lane);
  }

  #takeAny(lane: Lane): WorkItem | undefined {
    const q = this.#s.anyQueue;
    for (let i = 0; i < q.length; i++) {
      const item = q[i];
      if (item !== undefined && item.avoid !== lane.conn.id) {
        if (i === 0) q.shift();
        else q.splice(i, 1);
        return item;
      }
    }
    return undefined;
  }

  /** Queues an unsent item: on its pinned lane while that is active, else for any lane. */
  enqueue(item: WorkItem): void {
    const lane = item.pinned;
    if (lane?.active) {
      lane.ready.push(item);
      this.pump(lane);
      return;
    }
    unpin(item);
    this.#s.anyQueue.push(item);
    this.pumpAll();
  }

  /** Parks an unsent item for `delayMs`, then queues it again (kept alive by the sweep meanwhile). */
  #wait(item: WorkItem, delayMs: number): void {
    item.state = "waiting";
    item.timer = setTimeout(() => {
      item.timer = undefined;
      item.state = "queued";
      item.queuedAt = this.#s.now();
      this.enqueue(item);
    }, delayMs);
  }

  /** Forgets the cool-downs that ended (the keep-alive sweep). */
  pruneCooldowns(now: number): void {
    for (const [to, until] of this.#deviceCooldown) if (until <= now) this.#deviceCooldown.delete(to);
  }

  // ---- one send -------------------------------------------------------------------------------

  /** Sends the item on the lane (which has room), unless its fence, a cool-down or its TTL says no. */
  send(lane: Lane, item: WorkItem): void {
    const s = this.#s;
    if (!this.#lanes.fenceHolds(lane)) {
      // Not sent: another lane (or, with none left, JetStream) takes it.
      unpin(item);
      if (this.#lanes.activeCount() === 0) this.#held.handBack(item);
      else this.enqueue(item);
      return;
    }
    const now = s.now();
    // "Retry at a slower rate to that device": after a rate NACK, nothing goes to that device
    // until its cool-down ends (the message waits, still counted as unsent).
    const coolUntil = this.#deviceCooldown.get(item.to);
    if (coolUntil !== undefined) {
      if (coolUntil > now) {
        this.#wait(item, coolUntil - now);
        return;
      }
      this.#deviceCooldown.delete(item.to);
    }
    const ttl = checkTtl(item.request, item.ttlSeconds, item.publishedAtMs, now);
    unpin(item);
    s.unsent--;
    if (ttl.expired) {
      this.#held.finishItem(item, { status: "expired", description: ttl.description });
      return;
    }
    item.state = "sending";
    item.attempts++;
    item.firstSentAt ??= now;
    item.connectionId = lane.conn.id;
    if (lane.fence !== undefined) item.fence = lane.fence;
    item.avoid = undefined;
    s.sending++;
    s.options.metrics.inc(Metric.Sent);
    let result: Promise<SendResult>;
    try {
      result = lane.conn.send(ttl.request);
    } catch (err) {
      s.log.error({ ...errorFields(err), connectionId: lane.conn.id }, "send refused by connection");
      result = Promise.resolve({ kind: "lost", reason: "connection-closed" });
    }
    result.then(
      (r) => this.#onResult(lane, item, r),
      (err: unknown) => {
        s.log.error({ ...errorFields(err), connectionId: lane.conn.id }, "send rejected (contract breach)");
        this.#onResult(lane, item, { kind: "lost", reason: "connection-closed" });
      },
    );
  }

  // ---- the retry decision ---------------------------------------------------------------------

  #onResult(lane: Lane, item: WorkItem, result: SendResult): void {
    const s = this.#s;
    s.sending--;
    const m = s.options.metrics;
    if (result.kind === "lost") m.inc(Metric.Lost, result.reason);
    const decision = decide(result, item.retries, s.options.retry, s.random);
    switch (decision.kind) {
      case "acked":
        this.#held.finishItem(
          item,
          decision.canonicalRegistrationId === undefined
            ? { status: "acked" }
            : { status: "acked", canonicalRegistrationId: decision.canonicalRegistrationId },
        );
        break;
      case "nacked":
        this.#held.finishItem(
          item,
          decision.description === undefined
            ? { status: "nacked", code: decision.code }
            : { status: "nacked", code: decision.code, description: decision.description },
        );
        break;
      case "stanza-error":
        this.#held.finishItem(item, {
          status: "rejected",
          by: "ccs",
          code: WorkerCode.StanzaError,
          ...(decision.error.text === undefined ? {} : { description: decision.error.text }),
          stanzaError: decision.error,
        });
        break;
      case "release":
        s.log.warn({ messageId: item.messageId, lost: item.retries.lost }, "lost too often; handing back");
        this.#held.handBack(item, s.options.retry.internalError.baseMs);
        break;
      case "retry": {
        if (s.lifecycle !== "running") {
          this.#held.handBack(item);
          break;
        }
        item.retries[decision.reason] = (item.retries[decision.reason] ?? 0) + 1;
        m.inc(Metric.Retries, decision.reason);
        if (decision.reason === "device-rate") {
          const until = s.now() + decision.delayMs;
          if ((this.#deviceCooldown.get(item.to) ?? 0) < until) this.#deviceCooldown.set(item.to, until);
        }
        const at = s.now() + decision.delayMs;
        if (decision.delayMs > 0 && expiresBefore(item.ttlSeconds, item.publishedAtMs, at)) {
          this.#held.finishItem(item, {
            status: "expired",
            description: `time_to_live runs out before the retry`,
          });
          break;
        }
        item.avoid = decision.route === "other-connection" ? lane.conn.id : undefined;
        if (decision.route === "same-connection" && lane.active) {
          item.pinned = lane;
          lane.pinnedUnsent++;
        }
        s.unsent++;
        item.queuedAt = s.now();
        if (decision.delayMs <= 0) {
          item.state = "queued";
          this.enqueue(item);
        } else {
          this.#wait(item, decision.delayMs);
        }
        break;
      }
    }
    if (s.sending === 0) s.idle.wake();
  }
}
