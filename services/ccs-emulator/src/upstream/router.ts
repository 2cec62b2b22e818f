import type { Stats } from "../stats.ts";
import { Deque } from "./deque.ts";

/** A message the emulator sends to an app server and that must be ACKed: device upstream or receipt. */
export interface UpstreamItem {
  readonly kind: "upstream" | "receipt";
  readonly senderId: string;
  /** `from` of the payload: the device token, or gcm.googleapis.com for receipts. */
  readonly from: string;
  readonly messageId: string;
  /** The payload JSON, built once. */
  readonly json: string;
  /** Epoch ms after which an un-ACKed copy is not sent again. */
  readonly expiresAt: number;
  /** Times written to a connection so far. */
  sends: number;
}

/** The connection side the router needs. */
export interface UpstreamTarget {
  readonly id: string;
  readonly senderId: string;
  /** Online and not draining (stopped or closed connections answer false). */
  acceptsUpstream(): boolean;
  /** Writes the item; the router has already counted it un-ACKed on this target. */
  writeUpstream(item: UpstreamItem): void;
}

export type AckResult = "acked" | "misrouted" | "unknown";

interface SenderState {
  readonly queue: Deque<UpstreamItem>;
  readonly targets: UpstreamTarget[];
  next: number;
}

function ackKey(from: string, messageId: string): string {
  return `${from}\n${messageId}`;
}

/**
 * Routes upstream messages and receipts to one connection of their sender, tracks what each
 * connection has not ACKed, and sends that again on the next connection when one closes.
 * Bounded: `maxQueue` waiting items per sender, `maxUnacked` in flight per connection.
 */
export class UpstreamRouter {
  readonly #senders = new Map<string, SenderState>();
  readonly #unacked = new Map<UpstreamTarget, Map<string, UpstreamItem>>();
  readonly #stats: Stats;
  readonly #clock: () => number;
  readonly #maxQueue: number;
  #maxUnacked: number;

  constructor(options: { stats: Stats; clock: () => number; maxQueue: number; maxUnacked: number }) {
    this.#stats = options.stats;
    this.#clock = options.clock;
    this.#maxQueue = options.maxQueue;
    this.#maxUnacked = options.maxUnacked;
  }

  set maxUnacked(value: number) {
    this.#maxUnacked = value;
    for (const senderId of this.#senders.keys()) this.pump(senderId);
  }

  /** Queues an item for its sender; false (and counted) when the sender's queue is full. */
  enqueue(item: UpstreamItem): boolean {
    const state = this.#state(item.senderId);
    if (state.queue.length >= this.#maxQueue) {
      this.#stats.forSender(item.senderId).inc("upstreamQueueFull");
      return false;
    }
    state.queue.push(item);
    this.pump(item.senderId);
    return true;
  }

  attach(target: UpstreamTarget): void {
    const state = this.#state(target.senderId);
    if (!state.targets.includes(target)) state.targets.push(target);
    if (!this.#unacked.has(target)) this.#unacked.set(target, new Map());
    this.pump(target.senderId);
  }

  /** The target closed: whatever it did not ACK goes back to the front of the queue, unless expired. */
  detach(target: UpstreamTarget): void {
    const state = this.#senders.get(target.senderId);
    if (state !== undefined) {
      const i = state.targets.indexOf(target);
      if (i >= 0) state.targets.splice(i, 1);
    }
    const unacked = this.#unacked.get(target);
    this.#unacked.delete(target);
    if (unacked === undefined || unacked.size === 0 || state === undefined) return;
    const now = this.#clock();
    const again: UpstreamItem[] = [];
    for (const item of unacked.values()) {
      if (item.expiresAt < now) this.#stats.forSender(item.senderId).inc("upstreamExpired");
      else again.push(item);
    }
    state.queue.unshiftAll(again);
    this.pump(target.senderId);
  }

  /** An ACK arrived on `target`. Only the connection that carried the message can ACK it. */
  ack(target: UpstreamTarget, to: string, messageId: string): AckResult {
    const counters = this.#stats.forSender(target.senderId);
    const own = this.#unacked.get(target);
    const key = ackKey(to, messageId);
    if (own?.delete(key)) {
      counters.inc("upstreamAcked");
      this.pump(target.senderId);
      return "acked";
    }
    const state = this.#senders.get(target.senderId);
    for (const other of state?.targets ?? []) {
      if (other !== target && this.#unacked.get(other)?.has(key)) {
        counters.inc("upstreamMisroutedAcks");
        return "misrouted";
      }
    }
    counters.inc("upstreamUnknownAcks");
    return "unknown";
  }

  unackedCount(target: UpstreamTarget): number {
    return this.#unacked.get(target)?.size ?? 0;
  }

  queued(senderId: string): number {
    return this.#senders.get(senderId)?.queue.length ?? 0;
  }

  /** Sends queued items to eligible connections of `senderId`, round robin, while any has room. */
  pump(senderId: string): void {
    const state = this.#senders.get(senderId);
    if (state === undefined || state.queue.length === 0 || state.targets.length === 0) return;
    const now = this.#clock();
    while (state.queue.length > 0) {
      const target = this.#pick(state);
      if (target === undefined) return;
      const item = state.queue.shift();
      if (item === undefined) return;
      const counters = this.#stats.forSender(senderId);
      if (item.expiresAt < now) {
        counters.inc("upstreamExpired");
        continue;
      }
      this.#unacked.get(target)?.set(ackKey(item.from, item.messageId), item);
      counters.inc("upstreamSent");
      counters.inc(item.sends === 0 ? "upstreamDelivered" : "upstreamRedeliveries");
      if (item.kind === "receipt") counters.inc("receiptsSent");
      item.sends++;
      target.writeUpstream(item);
    }
  }

  /** Forgets every queued and un-ACKed item (admin reset); connections stay attached. */
  clear(): void {
    for (const state of this.#senders.values()) state.queue.clear();
    for (const unacked of this.#unacked.values()) unacked.clear();
  }

  #pick(state: SenderState): UpstreamTarget | undefined {
    const n = state.targets.length;
    for (let i = 0; i < n; i++) {
      const target = state.targets[(state.next + i) % n];
      if (target === undefined) continue;
      if (!target.acceptsUpstream()) continue;
      if ((this.#unacked.get(target)?.size ?? 0) >= this.#maxUnacked) continue;
      state.next = (state.next + i + 1) % n;
      return target;
    }
    return undefined;
  }

  #state(senderId: string): SenderState {
    let state = this.#senders.get(senderId);
    if (state === undefined) {
      state = { queue: new Deque(), targets: [], next: 0 };
      this.#senders.set(senderId, state);
    }
    return state;
  }
}
