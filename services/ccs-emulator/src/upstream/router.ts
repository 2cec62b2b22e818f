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
  /** Un-ACKed on a connection that closed: resent first on the sender's next new connection. */
  readonly awaitingNewConnection: Deque<UpstreamItem>;
  readonly targets: UpstreamTarget[];
  next: number;
}

function ackKey(from: string, messageId: string): string {
  return `${from}\n${messageId}`;
}

/**
 * Routes upstream messages and receipts to one connection of their sender, tracks what each
 * connection has not ACKed, and resends that when the sender next establishes a new connection.
 *
 * Redelivery follows the reference (001): "If you don't send an ACK for a message, CCS resends it the
 * next time a new XMPP connection is established, unless the message expires first." So a message
 * left un-ACKed on a connection that stays open is never sent again, and one left un-ACKed on a
 * connection that closed waits for the next new connection (not an older one still open), where it
 * goes first. A connection holding `maxUnacked` un-ACKed messages gets nothing more, but the sender's
 * other connections keep receiving (round robin over those with room): one blocked connection never
 * stalls the sender. Bounded: `maxQueue` waiting items per sender, `maxUnacked` per connection.
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

  /** A new connection is bound: it first gets what closed connections left un-ACKed, then its share. */
  attach(target: UpstreamTarget): void {
    const state = this.#state(target.senderId);
    if (!state.targets.includes(target)) state.targets.push(target);
    if (!this.#unacked.has(target)) this.#unacked.set(target, new Map());
    this.#resendOn(target, state);
    this.pump(target.senderId);
  }

  /**
   * The target closed: whatever it did not ACK (and has not expired) waits for the sender's next new
   * connection.
   */
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
    for (const item of unacked.values()) {
      if (item.expiresAt < now) this.#stats.forSender(item.senderId).inc("upstreamExpired");
      else state.awaitingNewConnection.push(item);
    }
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

  /** Items un-ACKed on closed connections, waiting for the sender's next new connection. */
  awaitingNewConnection(senderId: string): number {
    return this.#senders.get(senderId)?.awaitingNewConnection.length ?? 0;
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
      this.#send(target, item);
    }
  }

  /** Forgets every queued and un-ACKed item (admin reset); connections stay attached. */
  clear(): void {
    for (const state of this.#senders.values()) {
      state.queue.clear();
      state.awaitingNewConnection.clear();
    }
    for (const unacked of this.#unacked.values()) unacked.clear();
  }

  /**
   * Resends on a new connection what closed ones left un-ACKed, in their order, while it has room;
   * what does not fit goes to the front of the queue, ahead of newer messages.
   */
  #resendOn(target: UpstreamTarget, state: SenderState): void {
    const waiting = state.awaitingNewConnection;
    if (waiting.length === 0) return;
    const now = this.#clock();
    const counters = this.#stats.forSender(target.senderId);
    const left: UpstreamItem[] = [];
    while (waiting.length > 0) {
      const item = waiting.shift();
      if (item === undefined) break;
      if (item.expiresAt < now) counters.inc("upstreamExpired");
      else if (target.acceptsUpstream() && this.unackedCount(target) < this.#maxUnacked)
        this.#send(target, item);
      else left.push(item);
    }
    state.queue.unshiftAll(left);
  }

  #send(target: UpstreamTarget, item: UpstreamItem): void {
    const counters = this.#stats.forSender(target.senderId);
    this.#unacked.get(target)?.set(ackKey(item.from, item.messageId), item);
    counters.inc("upstreamSent");
    counters.inc(item.sends === 0 ? "upstreamDelivered" : "upstreamRedeliveries");
    if (item.kind === "receipt") counters.inc("receiptsSent");
    item.sends++;
    target.writeUpstream(item);
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
      state = { queue: new Deque(), awaitingNewConnection: new Deque(), targets: [], next: 0 };
      this.#senders.set(senderId, state);
    }
    return state;
  }
}
