/**
 * What each device received: one compact entry per (sender, message_id), with how many times it
 * arrived and when first and last. Columns of numbers keep a million entries cheap.
 */
export interface LedgerEntryView {
  messageId: string;
  senderId: string;
  count: number;
  firstAt: number;
  lastAt: number;
  collapseKey?: string;
}

export interface LedgerSummary {
  /** Devices that received at least one message. */
  devices: number;
  /** Distinct (device, sender, message_id) entries. */
  messages: number;
  /** Every arrival, duplicates included. */
  deliveries: number;
  /** Arrivals beyond the first of a message at a device. */
  duplicates: number;
  /** Arrivals not recorded because the ledger was full. */
  overflow: number;
  /** With `messageIds`: `senderId:messageId` -> arrivals (over all devices). */
  messageIds?: Record<string, number>;
}

/** The key of one message: sender IDs never contain ':', so the first ':' splits it again. */
export function messageKey(senderId: string, messageId: string): string {
  return `${senderId}:${messageId}`;
}

/**
 * One device's ledger: per sender, message_id -> slot in number columns. Filled by {@link Ledgers},
 * which logs arrivals on the hot path (no hashing) and indexes them here in batches before any read.
 */
export class DeviceLedger {
  readonly #bySender = new Map<string, Map<string, number>>();
  readonly #senders: string[] = [];
  readonly #messageIds: string[] = [];
  readonly #counts: number[] = [];
  readonly #firstAt: number[] = [];
  readonly #lastAt: number[] = [];
  readonly #collapseKeys = new Map<number, string>();

  /** Distinct messages indexed so far. */
  get size(): number {
    return this.#messageIds.length;
  }

  /** Indexes one arrival: true when the message is new here, false for a duplicate (counted). */
  add(senderId: string, messageId: string, now: number, collapseKey: string | undefined): boolean {
    let slots = this.#bySender.get(senderId);
    if (slots === undefined) {
      slots = new Map();
      this.#bySender.set(senderId, slots);
    }
    const slot = slots.get(messageId);
    if (slot !== undefined) {
      this.#counts[slot] = (this.#counts[slot] ?? 0) + 1;
      this.#lastAt[slot] = now;
      return false;
    }
    const next = this.#messageIds.length;
    slots.set(messageId, next);
    this.#senders.push(senderId);
    this.#messageIds.push(messageId);
    this.#counts.push(1);
    this.#firstAt.push(now);
    this.#lastAt.push(now);
    if (collapseKey !== undefined) this.#collapseKeys.set(next, collapseKey);
    return true;
  }

  /** Arrivals of an indexed message (0 when never). */
  count(senderId: string, messageId: string): number {
    const slot = this.#bySender.get(senderId)?.get(messageId);
    return slot === undefined ? 0 : (this.#counts[slot] ?? 0);
  }

  *entries(): Generator<LedgerEntryView> {
    for (let slot = 0; slot < this.#messageIds.length; slot++) {
      const entry: LedgerEntryView = {
        messageId: this.#messageIds[slot] ?? "",
        senderId: this.#senders[slot] ?? "",
        count: this.#counts[slot] ?? 0,
        firstAt: this.#firstAt[slot] ?? 0,
        lastAt: this.#lastAt[slot] ?? 0,
      };
      const collapseKey = this.#collapseKeys.get(slot);
      if (collapseKey !== undefined) entry.collapseKey = collapseKey;
      yield entry;
    }
  }

  *counts(): Generator<[string, number]> {
    for (let slot = 0; slot < this.#messageIds.length; slot++) {
      yield [messageKey(this.#senders[slot] ?? "", this.#messageIds[slot] ?? ""), this.#counts[slot] ?? 0];
    }
  }
}

/**
 * The bounded set of all device ledgers with running totals. At most `maxEntries` arrivals are kept
 * (logged or indexed); later ones are counted as overflow. Arrivals are appended to one log of columns
 * on the hot path (no hashing, sequential memory) and indexed into each device's ledger, in arrival
 * order, by `flush()`, which every read calls first.
 */
export class Ledgers {
  readonly #maxEntries: number;
  readonly #onDuplicate: (senderId: string) => void;
  readonly #byDevice = new Map<string, DeviceLedger>();
  #logTokens: string[] = [];
  #logSenders: string[] = [];
  #logIds: string[] = [];
  #logAt: number[] = [];
  /** Log index -> collapse key, for the few arrivals that have one. */
  #logCollapse: Map<number, string> | null = null;
  #entries = 0;
  #deliveries = 0;
  #duplicates = 0;
  #overflow = 0;

  constructor(maxEntries: number, onDuplicate: (senderId: string) => void = () => {}) {
    this.#maxEntries = maxEntries;
    this.#onDuplicate = onDuplicate;
  }

  /**
   * Logs one arrival of `senderId:messageId` at `token`; false when the ledger is full (not recorded).
   * The log keeps `token` until the next flush: pass a long-lived string (the device's own token).
   */
  record(
    token: string,
    senderId: string,
    messageId: string,
    collapseKey: string | undefined,
    now: number,
  ): boolean {
    const logged = this.#logIds.length;
    if (this.#entries + logged >= this.#maxEntries) {
      this.#overflow++;
      return false;
    }
    if (collapseKey !== undefined) {
      this.#logCollapse ??= new Map();
      this.#logCollapse.set(logged, collapseKey);
    }
    this.#logTokens.push(token);
    this.#logSenders.push(senderId);
    this.#logIds.push(messageId);
    this.#logAt.push(now);
    this.#deliveries++;
    return true;
  }

  /** Indexes every logged arrival (duplicates are counted here). */
  flush(): void {
    const ids = this.#logIds;
    if (ids.length === 0) return;
    const tokens = this.#logTokens;
    const senders = this.#logSenders;
    const at = this.#logAt;
    const collapse = this.#logCollapse;
    this.#logTokens = [];
    this.#logSenders = [];
    this.#logIds = [];
    this.#logAt = [];
    this.#logCollapse = null;
    let ledger: DeviceLedger | undefined;
    let ledgerToken: string | undefined;
    for (let i = 0; i < ids.length; i++) {
      const token = tokens[i] ?? "";
      if (token !== ledgerToken) {
        ledger = this.#byDevice.get(token);
        if (ledger === undefined) {
          ledger = new DeviceLedger();
          this.#byDevice.set(token, ledger);
        }
        ledgerToken = token;
      }
      const senderId = senders[i] ?? "";
      if ((ledger as DeviceLedger).add(senderId, ids[i] ?? "", at[i] ?? 0, collapse?.get(i))) {
        this.#entries++;
      } else {
        this.#duplicates++;
        this.#onDuplicate(senderId);
      }
    }
  }

  device(token: string): DeviceLedger | undefined {
    this.flush();
    return this.#byDevice.get(token);
  }

  summary(withMessageIds: boolean): LedgerSummary {
    this.flush();
    const summary: LedgerSummary = {
      devices: this.#byDevice.size,
      messages: this.#entries,
      deliveries: this.#deliveries,
      duplicates: this.#duplicates,
      overflow: this.#overflow,
    };
    if (withMessageIds) {
      const ids: Record<string, number> = {};
      for (const ledger of this.#byDevice.values()) {
        for (const [key, count] of ledger.counts()) ids[key] = (ids[key] ?? 0) + count;
      }
      summary.messageIds = ids;
    }
    return summary;
  }

  clear(): void {
    this.#byDevice.clear();
    this.#logTokens = [];
    this.#logSenders = [];
    this.#logIds = [];
    this.#logAt = [];
    this.#logCollapse = null;
    this.#entries = 0;
    this.#deliveries = 0;
    this.#duplicates = 0;
    this.#overflow = 0;
  }
}
