import { silentLogger } from "@ccs/telemetry";
import type { JsMsg } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { Metric, WorkerMetrics } from "../../src/metrics.ts";
import { DispatchState, type WorkItem } from "../../src/pipeline/dispatch-state.ts";
import { HeldMessages } from "../../src/pipeline/held-messages.ts";
import type { SenderDispatcherOptions } from "../../src/pipeline/sender-dispatcher.ts";

const MAX_QUEUE_WAIT_MS = 1_000;
const ACK_WAIT_MS = 3_000;

function setup() {
  const metrics = new WorkerMetrics();
  const options = {
    senderId: "s1",
    workerId: "w1",
    logger: silentLogger,
    metrics,
    ackWaitMs: ACK_WAIT_MS,
    fetch: { refillThreshold: 0.5, expiresMs: 5_000, maxQueueWaitMs: MAX_QUEUE_WAIT_MS },
  } as unknown as SenderDispatcherOptions;
  const state = new DispatchState(options);
  const held = new HeldMessages(state);
  const events: string[] = [];
  const item = (seq: number, queuedAt: number, touchedAt = queuedAt): WorkItem => {
    const msg = {
      seq,
      nak: () => events.push(`nak ${seq}`),
      working: () => events.push(`working ${seq}`),
    } as unknown as JsMsg;
    const work: WorkItem = {
      msg,
      state: "queued",
      touchedAt,
      messageId: `m${seq}`,
      to: "token",
      request: { to: "token", message_id: `m${seq}` },
      ttlSeconds: 60,
      publishedAtMs: 0,
      deliveries: 1,
      attempts: 0,
      retries: {},
      queuedAt,
    };
    held.hold(work);
    state.unsent++;
    state.anyQueue.push(work);
    return work;
  };
  return { state, held, metrics, events, item };
}

describe("held messages: keep-alive sweep", () => {
  it("hands back the queued items that waited too long, in queue order, and keeps the others in order", () => {
    const { state, held, metrics, events, item } = setup();
    const now = 10_000;
    const fresh = now - MAX_QUEUE_WAIT_MS + 1;
    const stale = now - MAX_QUEUE_WAIT_MS;
    const a = item(1, stale, now);
    const b = item(2, fresh, now);
    const c = item(3, stale - 5_000, now);
    const d = item(4, fresh, now);
    const e = item(5, stale, now);

    held.keepAlive(now);

    expect(events).toEqual(["nak 1", "nak 3", "nak 5"]);
    expect(state.anyQueue).toEqual([b, d]);
    expect(state.unsent).toBe(2);
    expect(held.size).toBe(2);
    expect(held.holdsSeq(a.msg.seq) || held.holdsSeq(c.msg.seq) || held.holdsSeq(e.msg.seq)).toBe(false);
    expect(held.holdsSeq(b.msg.seq) && held.holdsSeq(d.msg.seq)).toBe(true);
    expect(metrics.get(Metric.HandedBack)).toBe(3);
  });

  it("leaves a queue with nothing stale as it was", () => {
    const { state, held, events, item } = setup();
    const now = 10_000;
    const queued = [item(1, now - 10, now), item(2, now, now)];

    held.keepAlive(now);

    expect(events).toEqual([]);
    expect(state.anyQueue).toEqual(queued);
    expect(state.unsent).toBe(2);
  });

  it("signals working() for what was last touched a third of ack_wait ago", () => {
    const { held, events, item } = setup();
    const now = 10_000;
    item(1, now, now - ACK_WAIT_MS / 3);
    item(2, now, now - ACK_WAIT_MS / 3 + 1);

    held.keepAlive(now);
    expect(events).toEqual(["working 1"]);
    held.keepAlive(now);
    expect(events).toEqual(["working 1"]);
  });
});
