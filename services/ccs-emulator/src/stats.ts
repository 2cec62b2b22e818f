/** Counters by outcome, kept globally and per sender. All plain numbers: cheap on the hot path. */
export interface Counters {
  connectionsOpened: number;
  connectionsClosed: number;
  authFailures: number;
  connectionLimitRefusals: number;
  streamErrors: number;
  downstreamReceived: number;
  acked: number;
  /** NACKs by code. */
  nacked: Record<string, number>;
  stanzaErrors: number;
  pendingViolations: number;
  /** Downstream messages that never got an answer because their connection closed first. */
  unanswered: number;
  dryRun: number;
  /** Upstream messages and receipts written to a connection (first sends and redeliveries). */
  upstreamSent: number;
  /** Upstream messages and receipts written for the first time. */
  upstreamDelivered: number;
  /** Upstream messages and receipts written again after their connection closed un-ACKed. */
  upstreamRedeliveries: number;
  upstreamAcked: number;
  /** ACKs naming a message carried by another connection of the sender (ignored, as CCS does). */
  upstreamMisroutedAcks: number;
  /** ACKs naming no un-ACKed message at all (ignored). */
  upstreamUnknownAcks: number;
  /** Upstream messages queued by devices (admin API or generator). */
  upstreamQueued: number;
  /** Upstream messages (or receipts) dropped because they expired before an ACK. */
  upstreamExpired: number;
  /** Upstream messages refused because the sender's queue was full. */
  upstreamQueueFull: number;
  receiptsSent: number;
  drainsSent: number;
  /** Connections closed by an abrupt TCP reset (admin command or fault). */
  resets: number;
  /** Messages a device received more than once (same sender and message_id). */
  duplicateDeliveries: number;
  deliveredToDevices: number;
  /** Messages held for an offline or idle device. */
  held: number;
  heldExpired: number;
  /** Held messages replaced by a newer one with the same collapse_key, or evicted past 4 keys / the bound. */
  heldReplaced: number;
  /** time_to_live 0 messages to a device that could not get them at once. */
  droppedTtlZero: number;
  /** Deliveries that found the ledger full (counted, not recorded). */
  ledgerOverflow: number;
}

export type NumericCounter = Exclude<keyof Counters, "nacked">;

export function createCounters(): Counters {
  return {
    connectionsOpened: 0,
    connectionsClosed: 0,
    authFailures: 0,
    connectionLimitRefusals: 0,
    streamErrors: 0,
    downstreamReceived: 0,
    acked: 0,
    nacked: {},
    stanzaErrors: 0,
    pendingViolations: 0,
    unanswered: 0,
    dryRun: 0,
    upstreamSent: 0,
    upstreamDelivered: 0,
    upstreamRedeliveries: 0,
    upstreamAcked: 0,
    upstreamMisroutedAcks: 0,
    upstreamUnknownAcks: 0,
    upstreamQueued: 0,
    upstreamExpired: 0,
    upstreamQueueFull: 0,
    receiptsSent: 0,
    drainsSent: 0,
    resets: 0,
    duplicateDeliveries: 0,
    deliveredToDevices: 0,
    held: 0,
    heldExpired: 0,
    heldReplaced: 0,
    droppedTtlZero: 0,
    ledgerOverflow: 0,
  };
}

function copyCounters(c: Counters): Counters {
  return { ...c, nacked: { ...c.nacked } };
}

/** Increments one counter globally and for one sender at once. */
export class CounterPair {
  readonly global: Counters;
  readonly sender: Counters;

  constructor(global: Counters, sender: Counters) {
    this.global = global;
    this.sender = sender;
  }

  inc(key: NumericCounter, n = 1): void {
    this.global[key] += n;
    this.sender[key] += n;
  }

  nack(code: string): void {
    this.global.nacked[code] = (this.global.nacked[code] ?? 0) + 1;
    this.sender.nacked[code] = (this.sender.nacked[code] ?? 0) + 1;
  }
}

/** Global and per-sender counters. `reset()` zeroes them in place so held references stay valid. */
export class Stats {
  readonly global: Counters = createCounters();
  readonly #bySender = new Map<string, Counters>();
  readonly #pairs = new Map<string, CounterPair>();

  constructor(senderIds: readonly string[]) {
    for (const id of senderIds) {
      const c = createCounters();
      this.#bySender.set(id, c);
      this.#pairs.set(id, new CounterPair(this.global, c));
    }
  }

  /** The pair for a configured sender; unknown senders share a throwaway pair (never reported). */
  forSender(senderId: string): CounterPair {
    return this.#pairs.get(senderId) ?? new CounterPair(this.global, createCounters());
  }

  senderCounters(senderId: string): Counters | undefined {
    const c = this.#bySender.get(senderId);
    return c === undefined ? undefined : copyCounters(c);
  }

  globalCounters(): Counters {
    return copyCounters(this.global);
  }

  senderIds(): string[] {
    return [...this.#bySender.keys()];
  }

  reset(): void {
    zero(this.global);
    for (const c of this.#bySender.values()) zero(c);
  }
}

function zero(c: Counters): void {
  const fresh = createCounters();
  for (const key of Object.keys(fresh) as NumericCounter[]) {
    if (key !== ("nacked" as string)) c[key] = 0;
  }
  for (const code of Object.keys(c.nacked)) delete c.nacked[code];
}
