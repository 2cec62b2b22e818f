/**
 * Coalesces stanzas into few socket writes: everything pushed in the same tick goes out in one
 * `sink.write`, earlier once `maxBatchBytes` is reached. When the sink says "full" (write returned
 * false) it waits for its `drain` event, queueing at most `maxQueuedBytes` meanwhile.
 */
import { InvalidOptionError, WriterClosedError, WriterOverflowError } from "./errors.ts";

export interface StanzaSink {
  write(chunk: string): boolean;
  /** When present (a net.Socket / tls.TLSSocket / any Writable), `false` from write waits for "drain". */
  once?(event: "drain", listener: () => void): unknown;
}

/** Flush once the batch reaches this many UTF-16 units (≈ bytes for CCS's ASCII-heavy JSON). */
export const DEFAULT_MAX_BATCH_BYTES = 64 * 1024;
/** Refuse stanzas past this many units queued behind a blocked sink. */
export const DEFAULT_MAX_QUEUED_BYTES = 4 * 1024 * 1024;

export interface StanzaBatchWriterOptions {
  /** Default DEFAULT_MAX_BATCH_BYTES (64 KiB). */
  maxBatchBytes?: number;
  /** Default DEFAULT_MAX_QUEUED_BYTES (4 MiB); `push` throws WriterOverflowError beyond it. */
  maxQueuedBytes?: number;
  /** How the end-of-tick flush is scheduled. Default `queueMicrotask`. */
  schedule?: (flush: () => void) => void;
  /** Receives an exception thrown by `sink.write` during a scheduled flush. Without it, it is rethrown. */
  onError?: (err: unknown) => void;
}

export type BatchWriterState = "idle" | "scheduled" | "blocked" | "closed";

export class StanzaBatchWriter {
  readonly #sink: StanzaSink;
  readonly #maxBatch: number;
  readonly #maxQueued: number;
  readonly #schedule: (flush: () => void) => void;
  readonly #onError: ((err: unknown) => void) | undefined;
  #parts: string[] = [];
  #queued = 0;
  #scheduled = false;
  #blocked = false;
  #closed = false;
  #drainWaiters: Array<() => void> = [];
  #writes = 0;

  constructor(sink: StanzaSink, options?: StanzaBatchWriterOptions) {
    const maxBatch = options?.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    const maxQueued = options?.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) {
      throw new InvalidOptionError("maxBatchBytes", "must be a positive integer");
    }
    if (!Number.isSafeInteger(maxQueued) || maxQueued < maxBatch) {
      throw new InvalidOptionError("maxQueuedBytes", "must be an integer not below maxBatchBytes");
    }
    this.#sink = sink;
    this.#maxBatch = maxBatch;
    this.#maxQueued = maxQueued;
    this.#schedule = options?.schedule ?? queueMicrotask;
    this.#onError = options?.onError;
  }

  get state(): BatchWriterState {
    if (this.#closed) return "closed";
    if (this.#blocked) return "blocked";
    return this.#scheduled ? "scheduled" : "idle";
  }

  /** True while the sink is full and stanzas wait for its drain. */
  get backpressured(): boolean {
    return this.#blocked;
  }

  /** Units waiting to be written. */
  get queuedBytes(): number {
    return this.#queued;
  }

  /** Number of `sink.write` calls made so far. */
  get writes(): number {
    return this.#writes;
  }

  /** Queue one complete stanza. Throws WriterOverflowError past `maxQueuedBytes`, WriterClosedError after `close()`. */
  push(stanza: string): void {
    if (this.#closed) throw new WriterClosedError();
    if (this.#queued + stanza.length > this.#maxQueued) throw new WriterOverflowError(this.#maxQueued);
    this.#parts.push(stanza);
    this.#queued += stanza.length;
    if (this.#blocked) return;
    if (this.#queued >= this.#maxBatch) {
      this.flush();
      return;
    }
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#schedule(this.#scheduledFlush);
    }
  }

  /** Write everything queued now, in one `sink.write` (unless the sink is blocked). */
  flush(): void {
    if (this.#blocked || this.#parts.length === 0) return;
    const chunk = this.#parts.length === 1 ? (this.#parts[0] as string) : this.#parts.join("");
    this.#parts = [];
    this.#queued = 0;
    this.#writes++;
    const ok = this.#sink.write(chunk);
    if (!ok && this.#sink.once !== undefined) {
      this.#blocked = true;
      this.#sink.once("drain", this.#onDrain);
    } else {
      this.#settleWaiters();
    }
  }

  /** Resolves when nothing is queued and the sink is not blocked. */
  drained(): Promise<void> {
    if (this.#parts.length === 0 && !this.#blocked) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Stop accepting stanzas; returns the ones never written (e.g. the socket closed). */
  close(): string[] {
    this.#closed = true;
    const left = this.#parts;
    this.#parts = [];
    this.#queued = 0;
    this.#settleWaiters();
    return left;
  }

  readonly #scheduledFlush = (): void => {
    this.#scheduled = false;
    if (this.#closed) return;
    try {
      this.flush();
    } catch (err) {
      if (this.#onError === undefined) throw err;
      this.#onError(err);
    }
  };

  readonly #onDrain = (): void => {
    this.#blocked = false;
    if (this.#closed) return;
    if (this.#parts.length > 0) this.flush();
    else this.#settleWaiters();
  };

  #settleWaiters(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }
}
