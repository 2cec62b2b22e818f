/**
 * One sender's lanes: a Lane per online connection of its slots, each with its own PullFeed on the
 * sender's shared durable consumer, and the pull budget.
 *
 * - A lane pulls only what its window has room for, minus what it was already promised (outstanding
 *   pulls) and what waits for it (pinned retries); and the whole sender never holds more unsent
 *   messages than its lanes have room for (waiting retries count against the budget).
 * - It refills at a threshold (pipelined pulls), so the window rarely runs dry.
 * - Coordinated mode: a slot comes with a SlotFence, checked before every pull and send on its lanes.
 *   A lane whose fence is no longer valid retires at once; what it held goes to the other lanes, or
 *   back to JetStream when none is left.
 */
import type { JsMsg } from "@nats-io/jetstream";
import type { SlotFence } from "../assignment/assignment-source.ts";
import type { CcsConnection, ConnectionSlot, ConnectionState } from "../connection/contract.ts";
import { Metric } from "../metrics.ts";
import { type DispatchState, type Lane, unpin } from "./dispatch-state.ts";
import type { HeldMessages } from "./held-messages.ts";
import { PullFeed } from "./pull-feed.ts";

/** Max concurrent pull requests per lane (JetStream's max_waiting is shared by all clients). */
export const MAX_PULLS_PER_LANE = 3;

/** Where the lanes hand on what happens to them. */
export interface LaneWork {
  /** A pull of the lane delivered a message. */
  onMessage(lane: Lane, msg: JsMsg): void;
  /** The lane may have room: send what waits for it. */
  pump(lane: Lane): void;
  /** Work moved to the shared queue: every lane with room may take some. */
  pumpAll(): void;
}

export class LanePool {
  readonly #s: DispatchState;
  readonly #held: HeldMessages;
  readonly #work: LaneWork;
  readonly #slots = new Map<ConnectionSlot, { listener: (c: CcsConnection) => void; fence?: SlotFence }>();
  /** Lanes by connection id. */
  readonly #lanes = new Map<string, Lane>();
  /** Every feed with pulls open, including those of retired lanes (stopped at close). */
  readonly #feeds = new Set<PullFeed>();

  constructor(state: DispatchState, held: HeldMessages, work: LaneWork) {
    this.#s = state;
    this.#held = held;
    this.#work = work;
  }

  get size(): number {
    return this.#lanes.size;
  }

  values(): MapIterator<Lane> {
    return this.#lanes.values();
  }

  /** Messages asked for by open pulls and not yet delivered, over all lanes. */
  outstanding(): number {
    let outstanding = 0;
    for (const lane of this.#lanes.values()) outstanding += lane.feed.outstanding;
    return outstanding;
  }

  activeCount(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) if (lane.active) n++;
    return n;
  }

  // ---- slots ----------------------------------------------------------------------------------

  addSlot(slot: ConnectionSlot, fence: SlotFence | undefined): void {
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

  removeSlot(slot: ConnectionSlot): void {
    const entry = this.#slots.get(slot);
    if (entry === undefined) return;
    slot.off("connection", entry.listener);
    this.#slots.delete(slot);
    for (const lane of [...this.#lanes.values()]) if (lane.slot === slot) this.retire(lane);
    if (entry.fence !== undefined) this.handBackIfNoLane();
  }

  // ---- lanes ----------------------------------------------------------------------------------

  /** Unsent work nobody here can send (no active lane left): back to JetStream at once. */
  handBackIfNoLane(): void {
    if (this.activeCount() > 0) return;
    for (const item of this.#s.anyQueue.splice(0)) this.#held.handBack(item);
  }

  /** False (and the lane retired) once the lane's fence is no longer valid. */
  fenceHolds(lane: Lane): boolean {
    if (lane.fence === undefined || lane.fence.isValid()) return true;
    if (lane.active) {
      this.#s.options.metrics.inc(Metric.Fenced);
      this.#s.log.warn(
        { connectionId: lane.conn.id, slot: lane.fence.slot, fencingToken: lane.fence.token },
        "slot lease no longer valid: connection stops fetching and sending",
      );
      this.retire(lane);
      this.handBackIfNoLane();
    }
    return false;
  }

  #addLane(slot: ConnectionSlot, conn: CcsConnection, fence: SlotFence | undefined): void {
    if (this.#lanes.has(conn.id) || conn.state === "closed") return;
    const s = this.#s;
    const work = this.#work;
    const lane: Lane = {
      conn,
      slot,
      fence,
      feed: new PullFeed(
        s.options.consumer,
        {
          onMessage: (msg) => work.onMessage(lane, msg),
          onPullEnd: () => {
            if (lane.active) this.maybePull(lane);
            else if (lane.feed.requests === 0) this.#feeds.delete(lane.feed);
          },
        },
        s.log,
      ),
      refillAt: Math.max(1, Math.ceil(conn.windowSize * s.options.fetch.refillThreshold)),
      ready: [],
      pinnedUnsent: 0,
      active: s.lifecycle === "running",
      listeners: {
        room: () => work.pump(lane),
        state: (state: ConnectionState) => {
          if (state === "draining" || state === "closed") this.retire(lane);
          if (state === "closed") this.drop(lane);
        },
      },
    };
    this.#lanes.set(conn.id, lane);
    this.#feeds.add(lane.feed);
    conn.on("room", lane.listeners.room);
    conn.on("state", lane.listeners.state);
    s.log.info({ connectionId: conn.id, windowSize: conn.windowSize }, "connection added");
    work.pump(lane);
  }

  /** No more sends or pulls on this lane; what waited for it goes to the other lanes. */
  retire(lane: Lane): void {
    if (!lane.active) return;
    lane.active = false;
    // Its open pulls are left to finish (they expire within fetch.expiresMs): JetStream may already
    // have routed messages to them, and a closed pull would strand those until ack_wait. What they
    // still deliver goes to the other lanes (at most one window of extra work, kept alive meanwhile).
    for (const item of lane.ready.splice(0)) {
      unpin(item);
      this.#s.anyQueue.push(item);
    }
    this.#work.pumpAll();
  }

  drop(lane: Lane): void {
    this.retire(lane);
    lane.conn.off("room", lane.listeners.room);
    lane.conn.off("state", lane.listeners.state);
    this.#lanes.delete(lane.conn.id);
  }

  /** Shutdown: every lane stops at once; what waited for one goes back to JetStream. */
  stopAll(): void {
    for (const lane of this.#lanes.values()) {
      lane.active = false;
      for (const item of lane.ready.splice(0)) this.#held.handBack(item);
    }
  }

  /** After the connections closed: releases the slots, closes every pull, drops every lane. */
  async close(): Promise<void> {
    for (const slot of [...this.#slots.keys()]) this.removeSlot(slot);
    await Promise.allSettled([...this.#feeds].map((feed) => feed.stop()));
    this.#feeds.clear();
    for (const lane of [...this.#lanes.values()]) this.drop(lane);
  }

  // ---- the pull budget ------------------------------------------------------------------------

  /** Pulls for the lane what it and the sender have room for, once that is worth a pull. */
  maybePull(lane: Lane): void {
    const s = this.#s;
    if (!lane.active || s.lifecycle !== "running" || lane.conn.state !== "online") return;
    if (!this.fenceHolds(lane)) return;
    if (lane.feed.requests >= MAX_PULLS_PER_LANE) return;
    // This lane's room, minus what it was promised (open pulls) and what waits for it (pinned).
    const laneFree = lane.conn.room() - lane.feed.outstanding - lane.pinnedUnsent;
    if (laneFree <= 0) return;
    // Below the refill threshold it waits for its open pulls (the pull is never over laneFree).
    if (laneFree < lane.refillAt && lane.feed.outstanding !== 0) return;
    // The whole sender never holds more unsent work than its lanes have room for.
    let senderFree = -s.unsent;
    for (const l of this.#lanes.values()) {
      if (l.active && l.conn.state === "online") senderFree += l.conn.room() - l.feed.outstanding;
    }
    const n = Math.min(laneFree, senderFree);
    if (n <= 0) return;
    if (n >= lane.refillAt || lane.feed.outstanding === 0) lane.feed.pull(n, s.options.fetch.expiresMs);
  }
}
