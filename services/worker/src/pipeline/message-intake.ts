/**
 * What a lane's pull delivers: turned away while stopping (or when the lane's slot was revoked and
 * no lane is left), ignored when it is a redelivery of a message still held (same stream sequence),
 * ended at once when preparation says so (invalid, too large, expired, poison), else held and sent
 * on that lane, or queued for any lane when that lane has no room for it any more.
 */
import type { JsMsg } from "@nats-io/jetstream";
import { Metric } from "../metrics.ts";
import type { DispatchState, Held, Lane, WorkItem } from "./dispatch-state.ts";
import type { HeldMessages } from "./held-messages.ts";
import type { LanePool } from "./lane-pool.ts";
import { prepareMessage } from "./message-preparation.ts";
import type { SendScheduler } from "./send-scheduler.ts";

export class MessageIntake {
  readonly #s: DispatchState;
  readonly #lanes: LanePool;
  readonly #held: HeldMessages;
  readonly #scheduler: SendScheduler;

  constructor(state: DispatchState, lanes: LanePool, held: HeldMessages, scheduler: SendScheduler) {
    this.#s = state;
    this.#lanes = lanes;
    this.#held = held;
    this.#scheduler = scheduler;
  }

  onMessage(lane: Lane, msg: JsMsg): void {
    const s = this.#s;
    const o = s.options;
    o.metrics.inc(Metric.Fetched);
    const now = s.now();
    if (s.lifecycle !== "running") {
      msg.nak();
      o.metrics.inc(Metric.HandedBack);
      return;
    }
    if (!lane.active && lane.fence !== undefined && this.#lanes.activeCount() === 0) {
      // A pull of a revoked (or fenced) slot delivered after the fact, and no lane is left here.
      // Delayed past the pull's lifetime, so the redelivery goes to the new owner's pulls, not
      // back to this stale one in a loop (which would burn the message's delivery count).
      msg.nak(o.fetch.expiresMs);
      o.metrics.inc(Metric.HandedBack);
      return;
    }
    if (this.#held.holdsSeq(msg.seq)) {
      // Still ours: the ack of the first delivery settles it (JetStream acks by stream sequence).
      s.log.warn(
        { seq: msg.seq, deliveries: msg.info.deliveryCount },
        "redelivery of a held message ignored",
      );
      return;
    }
    const publishedAtMs = Number(msg.info.timestampNanos / 1_000_000);
    const msgIdHeader = msg.headers?.get("Nats-Msg-Id");
    const prepared = prepareMessage(
      {
        data: msg.data,
        ...(msgIdHeader === undefined || msgIdHeader === "" ? {} : { msgIdHeader }),
        streamSeq: msg.seq,
        publishedAtMs,
        deliveryCount: msg.info.deliveryCount,
      },
      o.limits,
    );
    if (prepared.kind === "final") {
      const held: Held = { msg, state: "publishing", touchedAt: now };
      this.#held.hold(held);
      this.#held.finish(held, prepared.verdict, {
        messageId: prepared.messageId,
        to: prepared.to,
        attempts: 0,
        retries: 0,
        deliveries: msg.info.deliveryCount,
        publishedAtMs,
        ...(lane.fence === undefined ? {} : { fence: lane.fence }),
      });
      return;
    }
    const item: WorkItem = {
      msg,
      state: "queued",
      touchedAt: now,
      messageId: prepared.messageId,
      to: prepared.to,
      request: prepared.request,
      ttlSeconds: prepared.ttlSeconds,
      publishedAtMs,
      deliveries: msg.info.deliveryCount,
      attempts: 0,
      retries: {},
      queuedAt: now,
      ...(lane.fence === undefined ? {} : { fence: lane.fence }),
    };
    this.#held.hold(item);
    s.unsent++;
    if (lane.active && lane.ready.length === 0 && lane.conn.room() > 0) {
      this.#scheduler.send(lane, item);
    } else {
      // Its lane lost room it had promised (or closed): any lane may take it.
      s.anyQueue.push(item);
      if (lane.active) this.#scheduler.pump(lane);
      this.#scheduler.pumpAll();
    }
  }
}
