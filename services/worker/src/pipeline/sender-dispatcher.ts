/**
 * One sender's flow: JetStream work -> CCS sends on that sender's connections -> outcomes.
 *
 * - Each online connection is a Lane with its own PullFeed on the sender's shared durable consumer.
 *   A lane pulls only what its window has room for, minus what it was already promised
 *   (outstanding pulls) and what waits for it (pinned retries); and the whole sender never holds
 *   more unsent messages than its lanes have room for (waiting retries count against the budget).
 * - It refills at a threshold (pipelined pulls), so the window rarely runs dry.
 * - A send's SendResult goes through the retry policy: final -> outcome published, then the
 *   JetStream message acked; retry -> same lane / another lane / any lane after a delay
 *   (keeping the message alive with working()); lost too often -> handed back (nak).
 * - stop: no more pulls, unsent work handed back at once, sends in flight finish within the grace.
 * - Coordinated mode: a slot comes with a SlotFence; every pull and send on its lanes checks it first
 *   (local, monotonic clock). A lane whose fence is no longer valid stops at once; what it held goes
 *   to the other lanes, or back to JetStream when none is left. Outcomes carry the fence.
 */
import type { DownstreamRequest } from "@ccs/ccs-protocol";
import { errorFields, type Logger } from "@ccs/telemetry";
import type { Consumer, JsMsg } from "@nats-io/jetstream";
import type { SlotFence } from "../assignment/assignment-source.ts";
import type { CcsConnection, ConnectionSlot, ConnectionState, SendResult } from "../connection/contract.ts";
import { IllegalStateError } from "../connection/errors.ts";
import { Metric, type WorkerMetrics } from "../metrics.ts";
import { checkTtl, expiresBefore, type PreparationLimits, prepareMessage } from "./message-preparation.ts";
import { buildOutcome, type Verdict, WorkerCode } from "./outcome.ts";
import type { OutcomeSink } from "./outcome-publisher.ts";
import { PullFeed } from "./pull-feed.ts";
import { decide, type RetryPolicyConfig, type RetryReason, totalRetries } from "./retry-policy.ts";

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

/** Max concurrent pull requests per lane (JetStream's max_waiting is shared by all clients). */
const MAX_PULLS_PER_LANE = 3;

type ItemState = "queued" | "waiting" | "sending" | "publishing";

interface Held {
  readonly msg: JsMsg;
  state: ItemState;
  /** Last delivery or working() signal to JetStream. */
  touchedAt: number;
}

interface WorkItem extends Held {
  readonly messageId: string;
  readonly to: string;
  readonly request: DownstreamRequest;
  readonly ttlSeconds: number;
  readonly publishedAtMs: number;
  readonly deliveries: number;
  attempts: number;
  readonly retries: Partial<Record<RetryReason, number>>;
  firstSentAt?: number;
  connectionId?: string;
  /** Fence of the lane that fetched or last sent it (coordinated mode). */
  fence?: SlotFence;
  /** Same-connection retry target. */
  pinned?: Lane;
  /** Connection the next send must avoid (draining / lost). */
  avoid?: string;
  timer?: NodeJS.Timeout;
  queuedAt: number;
}

interface Lane {
  readonly conn: CcsConnection;
  readonly slot: ConnectionSlot;
  /** Coordinated mode: the slot's ownership; checked before every pull and send. */
  readonly fence: SlotFence | undefined;
  readonly feed: PullFeed;
  /** Pinned items (same-connection retries) ready to go on this lane. */
  readonly ready: WorkItem[];
  /** Unsent items that only this lane may send (pinned), waiting or in `ready`. */
  pinnedUnsent: number;
  active: boolean;
  readonly listeners: {
    readonly room: () => void;
    readonly state: (state: ConnectionState) => void;
  };
}

export class SenderDispatcher {
  readonly senderId: string;
  readonly #o: SenderDispatcherOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #lanes = new Map<string, Lane>();
  readonly #slots = new Map<ConnectionSlot, { listener: (c: CcsConnection) => void; fence?: SlotFence }>();
  /** Every JetStream message this dispatcher holds (not yet acked or handed back). */
  readonly #held = new Set<Held>();
  /** Stream sequences held: a redelivery of one (ack_wait passed while we held it) is ignored. */
  readonly #heldSeqs = new Set<number>();
  /** Unsent items any lane may send (except `avoid`). */
  readonly #anyQueue: WorkItem[] = [];
  /** Devices that NACKed with a rate error -> time before which nothing more is sent to them. */
  readonly #deviceCooldown = new Map<string, number>();
  /** Every feed with pulls open, including those of retired lanes (stopped at close). */
  readonly #feeds = new Set<PullFeed>();
  #unsent = 0;
  #sending = 0;
  #state: DispatcherState = "running";
  readonly #sweep: NodeJS.Timeout;
  #idleWaiters: Array<() => void> = [];

  constructor(options: SenderDispatcherOptions) {
    this.senderId = options.senderId;
    this.#o = options;
    this.#log = options.logger.child({ senderId: options.senderId });
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    const sweepMs = Math.max(250, Math.floor(options.ackWaitMs / 4));
    this.#sweep = setInterval(() => this.#keepAlive(), sweepMs);
    this.#sweep.unref();
  }

  get state(): DispatcherState {
    return this.#state;
  }

  #setState(next: DispatcherState): void {
    if (next === this.#state) return;
    this.#log.info({ from: this.#state, to: next }, "dispatcher state");
    this.#state = next;
  }

  /** Numbers for tests and logs. */
  stats(): { held: number; unsent: number; sending: number; lanes: number; outstanding: number } {
    let outstanding = 0;
    for (const lane of this.#lanes.values()) outstanding += lane.feed.outstanding;
    return {
      held: this.#held.size,
      unsent: this.#unsent,
      sending: this.#sending,
      lanes: this.#lanes.size,
      outstanding,
    };
  }

  // ---- slots and lanes -------------------------------------------------------------------------

  /** Sends through the slot's online connections; with a `fence`, only while it is valid. */
  addSlot(slot: ConnectionSlot, fence?: SlotFence): void {
    if (this.#state !== "running") throw new IllegalStateError(`addSlot while ${this.#state}`);
    if (this.#slots.has(slot)) return;
    const onConnection = (conn: CcsConnection): void => this.#addLane(slot, conn, fence);
    this.#slots.set(
      slot,
      fence === undefined ? { listener: onConnection } : { listener: onConnection, fence },
    );
    slot.on("connection", onConnection);
    // Checked again at socket-write time, so nothing queued before a freeze goes out after the lease ran out.
    if (fence !== undefined) slot.setSendGate?.(() => fence.isValid());
    for (const conn of slot.connections()) if (conn.state === "online") this.#addLane(slot, conn, fence);
  }

  /**
   * Stops using the slot's connections for new sends and pulls (its sends in flight still settle).
   * A fenced slot (revoked by the coordinator) also hands its unsent work back to JetStream when no
   * other lane of the sender is left to take it.
   */
  removeSlot(slot: ConnectionSlot): void {
    const entry = this.#slots.get(slot);
    if (entry === undefined) return;
    slot.off("connection", entry.listener);
    this.#slots.delete(slot);
    for (const lane of [...this.#lanes.values()]) if (lane.slot === slot) this.#retireLane(lane);
    if (entry.fence !== undefined) this.#handBackIfNoLane();
  }

  #activeLanes(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) if (lane.active) n++;
    return n;
  }

  /** Unsent work nobody here can send (no active lane left): back to JetStream at once. */
  #handBackIfNoLane(): void {
    if (this.#activeLanes() > 0) return;
    for (const item of this.#anyQueue.splice(0)) this.#handBack(item);
  }

  /** False (and the lane retired) once the lane's fence is no longer valid. */
  #fenceHolds(lane: Lane): boolean {
    if (lane.fence === undefined || lane.fence.isValid()) return true;
    if (lane.active) {
      this.#o.metrics.inc(Metric.Fenced);
      this.#log.warn(
        { connectionId: lane.conn.id, slot: lane.fence.slot, fencingToken: lane.fence.token },
        "slot lease no longer valid: connection stops fetching and sending",
      );
      this.#retireLane(lane);
      this.#handBackIfNoLane();
    }
    return false;
  }

  #addLane(slot: ConnectionSlot, conn: CcsConnection, fence: SlotFence | undefined): void {
    if (this.#lanes.has(conn.id) || conn.state === "closed") return;
    const lane: Lane = {
      conn,
      slot,
      fence,
      feed: new PullFeed(
        this.#o.consumer,
        {
          onMessage: (msg) => this.#onMessage(lane, msg),
          onPullEnd: () => {
            if (lane.active) this.#maybePull(lane);
            else if (lane.feed.requests === 0) this.#feeds.delete(lane.feed);
          },
        },
        this.#log,
      ),
      ready: [],
      pinnedUnsent: 0,
      active: this.#state === "running",
      listeners: {
        room: () => this.#pump(lane),
        state: (state: ConnectionState) => {
          if (state === "draining" || state === "closed") this.#retireLane(lane);
          if (state === "closed") this.#dropLane(lane);
        },
      },
    };
    this.#lanes.set(conn.id, lane);
    this.#feeds.add(lane.feed);
    conn.on("room", lane.listeners.room);
    conn.on("state", lane.listeners.state);
    this.#log.info({ connectionId: conn.id, windowSize: conn.windowSize }, "connection added");
    this.#pump(lane);
  }

  /** No more sends or pulls on this lane; what waited for it goes to the other lanes. */
  #retireLane(lane: Lane): void {
    if (!lane.active) return;
    lane.active = false;
    // Its open pulls are left to finish (they expire within fetch.expiresMs): JetStream may already
    // have routed messages to them, and a closed pull would strand those until ack_wait. What they
    // still deliver goes to the other lanes (at most one window of extra work, kept alive meanwhile).
    for (const item of lane.ready.splice(0)) {
      this.#unpin(item);
      this.#anyQueue.push(item);
    }
    this.#pumpAll();
  }

  #dropLane(lane: Lane): void {
    this.#retireLane(lane);
    lane.conn.off("room", lane.listeners.room);
    lane.conn.off("state", lane.listeners.state);
    this.#lanes.delete(lane.conn.id);
  }

  // ---- intake ---------------------------------------------------------------------------------

  #onMessage(lane: Lane, msg: JsMsg): void {
    this.#o.metrics.inc(Metric.Fetched);
    const now = this.#now();
    if (this.#state !== "running") {
      msg.nak();
      this.#o.metrics.inc(Metric.HandedBack);
      return;
    }
    if (!lane.active && lane.fence !== undefined && this.#activeLanes() === 0) {
      // A pull of a revoked (or fenced) slot delivered after the fact, and no lane is left here.
      // Delayed past the pull's lifetime, so the redelivery goes to the new owner's pulls, not
      // back to this stale one in a loop (which would burn the message's delivery count).
      msg.nak(this.#o.fetch.expiresMs);
      this.#o.metrics.inc(Metric.HandedBack);
      return;
    }
    if (this.#heldSeqs.has(msg.seq)) {
      // Still ours: the ack of the first delivery settles it (JetStream acks by stream sequence).
      this.#log.warn(
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
      this.#o.limits,
    );
    if (prepared.kind === "final") {
      const held: Held = { msg, state: "publishing", touchedAt: now };
      this.#held.add(held);
      this.#heldSeqs.add(msg.seq);
      this.#finish(held, prepared.verdict, {
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
    this.#held.add(item);
    this.#heldSeqs.add(msg.seq);
    this.#unsent++;
    if (lane.active && lane.ready.length === 0 && lane.conn.room() > 0) {
      this.#send(lane, item);
    } else {
      // Its lane lost room it had promised (or closed): any lane may take it.
      this.#anyQueue.push(item);
      if (lane.active) this.#pump(lane);
      this.#pumpAll();
    }
  }

  // ---- sending --------------------------------------------------------------------------------

  #pumpAll(): void {
    for (const lane of this.#lanes.values()) {
      if (this.#anyQueue.length === 0) break;
      this.#pump(lane);
    }
  }

  #pump(lane: Lane): void {
    if (!lane.active || this.#state !== "running") return;
    while (lane.active && lane.conn.room() > 0) {
      const item = lane.ready.shift() ?? this.#takeAny(lane);
      if (item === undefined) break;
      this.#send(lane, item);
    }
    this.#maybePull(lane);
  }

  #takeAny(lane: Lane): WorkItem | undefined {
    const q = this.#anyQueue;
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

  #maybePull(lane: Lane): void {
    if (!lane.active || this.#state !== "running" || lane.conn.state !== "online") return;
    if (!this.#fenceHolds(lane)) return;
    if (lane.feed.requests >= MAX_PULLS_PER_LANE) return;
    // This lane's room, minus what it was promised (open pulls) and what waits for it (pinned).
    const laneFree = lane.conn.room() - lane.feed.outstanding - lane.pinnedUnsent;
    if (laneFree <= 0) return;
    // The whole sender never holds more unsent work than its lanes have room for.
    let senderFree = -this.#unsent;
    for (const l of this.#lanes.values()) {
      if (l.active && l.conn.state === "online") senderFree += l.conn.room() - l.feed.outstanding;
    }
    const n = Math.min(laneFree, senderFree);
    if (n <= 0) return;
    const threshold = Math.max(1, Math.ceil(lane.conn.windowSize * this.#o.fetch.refillThreshold));
    if (n >= threshold || lane.feed.outstanding === 0) lane.feed.pull(n, this.#o.fetch.expiresMs);
  }

  #send(lane: Lane, item: WorkItem): void {
    if (!this.#fenceHolds(lane)) {
      // Not sent: another lane (or, with none left, JetStream) takes it.
      this.#unpin(item);
      if (this.#activeLanes() === 0) this.#handBack(item);
      else this.#enqueue(item);
      return;
    }
    const now = this.#now();
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
    this.#unpin(item);
    this.#unsent--;
    if (ttl.expired) {
      this.#finishItem(item, { status: "expired", description: ttl.description });
      return;
    }
    item.state = "sending";
    item.attempts++;
    item.firstSentAt ??= now;
    item.connectionId = lane.conn.id;
    if (lane.fence !== undefined) item.fence = lane.fence;
    item.avoid = undefined;
    this.#sending++;
    this.#o.metrics.inc(Metric.Sent);
    let result: Promise<SendResult>;
    try {
      result = lane.conn.send(ttl.request);
    } catch (err) {
      this.#log.error({ ...errorFields(err), connectionId: lane.conn.id }, "send refused by connection");
      result = Promise.resolve({ kind: "lost", reason: "connection-closed" });
    }
    result.then(
      (r) => this.#onResult(lane, item, r),
      (err: unknown) => {
        this.#log.error(
          { ...errorFields(err), connectionId: lane.conn.id },
          "send rejected (contract breach)",
        );
        this.#onResult(lane, item, { kind: "lost", reason: "connection-closed" });
      },
    );
  }

  #onResult(lane: Lane, item: WorkItem, result: SendResult): void {
    this.#sending--;
    const m = this.#o.metrics;
    if (result.kind === "lost") m.inc(Metric.Lost, result.reason);
    const decision = decide(result, item.retries, this.#o.retry, this.#random);
    switch (decision.kind) {
      case "acked":
        this.#finishItem(
          item,
          decision.canonicalRegistrationId === undefined
            ? { status: "acked" }
            : { status: "acked", canonicalRegistrationId: decision.canonicalRegistrationId },
        );
        break;
      case "nacked":
        this.#finishItem(
          item,
          decision.description === undefined
            ? { status: "nacked", code: decision.code }
            : { status: "nacked", code: decision.code, description: decision.description },
        );
        break;
      case "stanza-error":
        this.#finishItem(item, {
          status: "rejected",
          by: "ccs",
          code: WorkerCode.StanzaError,
          ...(decision.error.text === undefined ? {} : { description: decision.error.text }),
          stanzaError: decision.error,
        });
        break;
      case "release":
        this.#log.warn(
          { messageId: item.messageId, lost: item.retries.lost },
          "lost too often; handing back",
        );
        this.#handBack(item, this.#o.retry.internalError.baseMs);
        break;
      case "retry": {
        if (this.#state !== "running") {
          this.#handBack(item);
          break;
        }
        item.retries[decision.reason] = (item.retries[decision.reason] ?? 0) + 1;
        m.inc(Metric.Retries, decision.reason);
        if (decision.reason === "device-rate") {
          const until = this.#now() + decision.delayMs;
          if ((this.#deviceCooldown.get(item.to) ?? 0) < until) this.#deviceCooldown.set(item.to, until);
        }
        const at = this.#now() + decision.delayMs;
        if (decision.delayMs > 0 && expiresBefore(item.ttlSeconds, item.publishedAtMs, at)) {
          this.#finishItem(item, {
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
        this.#unsent++;
        item.queuedAt = this.#now();
        if (decision.delayMs <= 0) {
          item.state = "queued";
          this.#enqueue(item);
        } else {
          this.#wait(item, decision.delayMs);
        }
        break;
      }
    }
    if (this.#sending === 0) this.#wakeIdle();
  }

  /** Parks an unsent item for `delayMs`, then queues it again (kept alive by the sweep meanwhile). */
  #wait(item: WorkItem, delayMs: number): void {
    item.state = "waiting";
    item.timer = setTimeout(() => {
      item.timer = undefined;
      item.state = "queued";
      item.queuedAt = this.#now();
      this.#enqueue(item);
    }, delayMs);
  }

  #enqueue(item: WorkItem): void {
    const lane = item.pinned;
    if (lane?.active) {
      lane.ready.push(item);
      this.#pump(lane);
      return;
    }
    this.#unpin(item);
    this.#anyQueue.push(item);
    this.#pumpAll();
  }

  #unpin(item: WorkItem): void {
    if (item.pinned !== undefined) {
      item.pinned.pinnedUnsent--;
      item.pinned = undefined;
    }
  }

  // ---- endings --------------------------------------------------------------------------------

  #finishItem(item: WorkItem, verdict: Verdict): void {
    this.#finish(item, verdict, {
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

  #finish(
    held: Held,
    verdict: Verdict,
    ctx: {
      messageId: string;
      to: string | null;
      attempts: number;
      retries: number;
      deliveries: number;
      publishedAtMs: number;
      firstSentAtMs?: number;
      connectionId?: string;
      fence?: SlotFence;
    },
  ): void {
    held.state = "publishing";
    const m = this.#o.metrics;
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
      senderId: this.senderId,
      completedAtMs: this.#now(),
      workerId: this.#o.workerId,
    });
    this.#o.outcomes.publish(outcome).then(
      (durable) => {
        // Only once the outcome is durable is the work message acked (at-least-once).
        if (durable) held.msg.ack();
        this.#release(held);
      },
      (err: unknown) => {
        this.#log.error({ ...errorFields(err), messageId: ctx.messageId }, "outcome publish failed for good");
        this.#release(held);
      },
    );
  }

  /** Gives the message back to JetStream for another delivery (nak, optionally delayed). */
  #handBack(item: WorkItem, delayMs?: number): void {
    if (item.timer !== undefined) {
      clearTimeout(item.timer);
      item.timer = undefined;
    }
    if (item.state === "queued" || item.state === "waiting") this.#unsent--;
    this.#unpin(item);
    item.msg.nak(delayMs);
    this.#o.metrics.inc(Metric.HandedBack);
    this.#release(item);
  }

  #release(held: Held): void {
    this.#held.delete(held);
    this.#heldSeqs.delete(held.msg.seq);
    if (this.#held.size === 0 || this.#sending === 0) this.#wakeIdle();
  }

  #keepAlive(): void {
    const now = this.#now();
    for (const [to, until] of this.#deviceCooldown) if (until <= now) this.#deviceCooldown.delete(to);
    const touchEvery = this.#o.ackWaitMs / 3;
    for (const held of this.#held) {
      if (now - held.touchedAt >= touchEvery) {
        held.msg.working();
        held.touchedAt = now;
      }
    }
    // Work no lane could take for too long goes back to JetStream (maybe another worker has room).
    const stale = this.#anyQueue.filter((item) => now - item.queuedAt >= this.#o.fetch.maxQueueWaitMs);
    for (const item of stale) {
      this.#anyQueue.splice(this.#anyQueue.indexOf(item), 1);
      this.#handBack(item);
    }
  }

  // ---- shutdown -------------------------------------------------------------------------------

  /**
   * Stops taking work: no new pulls, unsent messages (queued or waiting for a retry) are handed
   * back at once, and resolves when the sends in flight have settled or `graceMs` passed.
   */
  async drain(graceMs: number): Promise<void> {
    if (this.#state === "running") {
      this.#setState("stopping");
      for (const lane of this.#lanes.values()) {
        lane.active = false;
        for (const item of lane.ready.splice(0)) this.#handBack(item);
      }
      for (const item of this.#anyQueue.splice(0)) this.#handBack(item);
      for (const held of [...this.#held]) {
        const item = held as WorkItem;
        if (item.state === "waiting") this.#handBack(item);
      }
    }
    await this.#waitUntil(() => this.#sending === 0, graceMs);
  }

  /** After the connections closed: waits for the last outcome publishes, then closes the pulls. */
  async close(deadlineMs: number): Promise<void> {
    if (this.#state === "running") await this.drain(0);
    await this.#waitUntil(() => this.#held.size === 0, deadlineMs);
    clearInterval(this.#sweep);
    for (const slot of [...this.#slots.keys()]) this.removeSlot(slot);
    await Promise.allSettled([...this.#feeds].map((feed) => feed.stop()));
    this.#feeds.clear();
    for (const lane of [...this.#lanes.values()]) this.#dropLane(lane);
    if (this.#held.size > 0) {
      this.#log.warn(
        { held: this.#held.size },
        "closing with messages un-acked; JetStream will redeliver them",
      );
    }
    this.#setState("stopped");
  }

  #wakeIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  async #waitUntil(done: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = this.#now() + timeoutMs;
    while (!done()) {
      const left = deadline - this.#now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        this.#idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
