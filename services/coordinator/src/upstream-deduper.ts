// The upstream path, run by every coordinator replica: consume the internal upstream stream through
// one shared durable consumer (a consumer group), and publish each message/receipt exactly once:
//   Redis says the key was published → ack and skip;
//   else publish with Nats-Msg-Id = the key (JetStream's duplicate window covers a crash between the
//   publish and the Redis write, and two replicas racing on redeliveries), then SET key NX PX window,
//   then ack. Any failure naks with a delay: the message comes back and the same steps run again.

import type { Logger } from "@ccs/cluster";
import {
  MalformedUpstreamError,
  parseUpstreamHeaders,
  type Subjects,
  UpstreamHeaders,
  type UpstreamRecord,
  upstreamDedupeDigest,
} from "@ccs/contract";
import type { ConsumerMessages, JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { headers as createHeaders } from "@nats-io/transport-node";
import type { DedupeStore } from "./dedupe-store.ts";
import { IllegalStateError } from "./errors.ts";
import { RateMeter } from "./rate-meter.ts";

export interface UpstreamDeduperOptions {
  readonly js: JetStreamClient;
  readonly subjects: Subjects;
  readonly dedupe: DedupeStore;
  readonly maxInFlight: number;
  readonly retryDelayMs: number;
  readonly logger: Logger;
  /** Re-creates the stream/consumer before re-opening a consumer that ended by itself. */
  readonly ensure?: () => Promise<void>;
}

/**
 * "idle" → start() → "running" ⇄ "recovering" (the consumer ended by itself; re-opening with backoff)
 * → close() → "closing" → "closed".
 */
export type DeduperState = "idle" | "running" | "recovering" | "closing" | "closed";

export interface UpstreamCounters {
  readonly received: number;
  readonly published: number;
  /** Skipped because Redis said they were already published. */
  readonly duplicates: number;
  /** Published but JetStream reported a duplicate Nats-Msg-Id (a crash or race was absorbed). */
  readonly streamDuplicates: number;
  readonly malformed: number;
  readonly errors: number;
  readonly inFlight: number;
  readonly publishedPerSecond: number;
  readonly receivedPerSecond: number;
}

const PULL_EXPIRES_MS = 5_000;

const COPIED_HEADERS = [
  UpstreamHeaders.kind,
  UpstreamHeaders.senderId,
  UpstreamHeaders.from,
  UpstreamHeaders.messageId,
  UpstreamHeaders.category,
  UpstreamHeaders.receivedAt,
] as const;

export class UpstreamDeduper {
  readonly #o: UpstreamDeduperOptions;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #received = new RateMeter();
  readonly #published = new RateMeter();
  #duplicates = 0;
  #streamDuplicates = 0;
  #malformed = 0;
  #errors = 0;
  #state: DeduperState = "idle";
  #messages: ConsumerMessages | undefined;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(options: UpstreamDeduperOptions) {
    this.#o = options;
  }

  get state(): DeduperState {
    return this.#state;
  }

  #setState(next: DeduperState, reason: string): void {
    if (this.#state !== next) {
      this.#o.logger.info({ from: this.#state, to: next, reason }, "upstream deduper state");
      this.#state = next;
    }
  }

  counters(): UpstreamCounters {
    return {
      received: this.#received.total,
      published: this.#published.total,
      duplicates: this.#duplicates,
      streamDuplicates: this.#streamDuplicates,
      malformed: this.#malformed,
      errors: this.#errors,
      inFlight: this.#inFlight.size,
      publishedPerSecond: this.#published.perSecond(),
      receivedPerSecond: this.#received.perSecond(),
    };
  }

  /**
   * Starts consuming (the stream and consumer must exist: see ensureUpstreamStreams). Should the
   * consumer end by itself later (e.g. deleted with its stream), the deduper re-runs `ensure` and
   * consumes again with backoff; the state is "recovering" meanwhile (not ready).
   */
  async start(): Promise<void> {
    if (this.#state !== "idle") {
      throw new IllegalStateError("start upstream deduper", this.#state);
    }
    const first = await this.#open();
    this.#setState("running", "start()");
    this.#loop = this.#run(first);
  }

  async #open(): Promise<ConsumerMessages> {
    const { js, subjects, maxInFlight } = this.#o;
    const consumer = await js.consumers.get(subjects.internalUpStream, subjects.upstreamConsumer);
    // End (rather than wait forever) when the consumer or stream is deleted, so #run re-creates it.
    // Short pull expiry (idle heartbeat = expiry / 2): a deleted consumer is noticed within seconds.
    const messages = await consumer.consume({
      max_messages: maxInFlight,
      expires: PULL_EXPIRES_MS,
      abort_on_missing_resource: true,
    });
    this.#messages = messages;
    return messages;
  }

  async #run(first: ConsumerMessages): Promise<void> {
    const { maxInFlight, logger } = this.#o;
    let messages: ConsumerMessages | undefined = first;
    let failures = 0;
    while (this.#state === "running" || this.#state === "recovering") {
      try {
        if (messages === undefined) {
          await this.#o.ensure?.();
          messages = await this.#open();
          if (this.#state !== "recovering") {
            messages.stop();
            break;
          }
          this.#setState("running", "consumer reopened");
        }
        for await (const m of messages) {
          failures = 0;
          this.#received.mark();
          const p = this.#handle(m).finally(() => this.#inFlight.delete(p));
          this.#inFlight.add(p);
          while (this.#inFlight.size >= maxInFlight) {
            await Promise.race(this.#inFlight);
          }
        }
      } catch (error) {
        logger.error(
          { err: error instanceof Error ? error.message : String(error) },
          "upstream consumer failed",
        );
      }
      messages = undefined;
      if (this.#state !== "running" && this.#state !== "recovering") {
        break;
      }
      this.#setState("recovering", "consumer ended");
      failures++;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(30_000, 250 * 2 ** Math.min(failures, 7)));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  async #handle(m: JsMsg): Promise<void> {
    const { js, subjects, dedupe, logger, retryDelayMs } = this.#o;
    let record: UpstreamRecord;
    try {
      record = parseUpstreamHeaders((name) => m.headers?.get(name));
    } catch (error) {
      if (!(error instanceof MalformedUpstreamError)) {
        this.#errors++;
        logger.error(
          { seq: m.seq, err: String(error) },
          "internal upstream message unreadable; redelivery will retry",
        );
        m.nak(retryDelayMs);
        return;
      }
      this.#malformed++;
      logger.error(
        { seq: m.seq, subject: m.subject, reason: error.message },
        "malformed internal upstream message dropped",
      );
      // No reason text: `+TERM <reason>` needs nats-server >= 2.10.4 (2.9 ignores it and redelivers).
      m.term();
      return;
    }
    const digest = upstreamDedupeDigest(record);
    try {
      if (await dedupe.published(digest)) {
        this.#duplicates++;
        m.ack();
        return;
      }
      const subject =
        record.kind === "upstream"
          ? subjects.up(record.senderId, record.category)
          : subjects.receipt(record.senderId);
      const h = createHeaders();
      for (const name of COPIED_HEADERS) {
        const v = m.headers?.get(name);
        if (v !== undefined && v.length > 0) h.set(name, v);
      }
      h.set(UpstreamHeaders.dedupeKey, digest);
      const ack = await js.publish(subject, m.data, { msgID: digest, headers: h });
      if (ack.duplicate) {
        this.#streamDuplicates++;
      } else {
        this.#published.mark();
      }
      await dedupe.markPublished(digest);
      m.ack();
    } catch (error) {
      this.#errors++;
      logger.warn(
        {
          senderId: record.senderId,
          kind: record.kind,
          err: error instanceof Error ? error.message : String(error),
        },
        "upstream message not processed; redelivery will retry",
      );
      m.nak(retryDelayMs);
    }
  }

  /** Idempotent: stops pulling, lets the messages in flight finish (each acks or naks), then ends. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#state === "idle") {
        this.#setState("closed", "close() before start()");
        return;
      }
      this.#setState("closing", "close()");
      this.#messages?.stop();
      this.#wake?.();
      await this.#loop;
      await Promise.allSettled([...this.#inFlight]);
      this.#setState("closed", "close()");
    })();
    return this.#closing;
  }
}
