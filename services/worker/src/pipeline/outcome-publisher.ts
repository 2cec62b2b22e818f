/**
 * Publishes outcomes to JetStream and resolves once the outcome stream acknowledged them (the work
 * message may be acked only then). Many publishes run concurrently: nothing here serializes them.
 * A failed publish is retried with backoff until it succeeds or the publisher is closed.
 */

import { errorFields, type Logger } from "@ccs/telemetry";
import { headers } from "@nats-io/transport-node";
import { Metric, type WorkerMetrics } from "../metrics.ts";
import { type Outcome, outcomeHeaders, outcomeMsgId } from "./outcome.ts";
import type { PubAckPublisher } from "./pub-ack-publisher.ts";

export const DEFAULT_PUBLISH_RETRY_BASE_MS = 200;
export const DEFAULT_PUBLISH_RETRY_MAX_MS = 5_000;

/** What the dispatcher needs: publish one outcome; true once durable, false if given up (closing). */
export interface OutcomeSink {
  publish(outcome: Outcome): Promise<boolean>;
}

export interface OutcomePublisherOptions {
  /** JetStream publishing (resolves on the stream's acknowledgement). */
  readonly pub: Pick<PubAckPublisher, "publish">;
  readonly subjectFor: (senderId: string) => string;
  readonly metrics: WorkerMetrics;
  readonly logger: Logger;
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
}

export class OutcomePublisher implements OutcomeSink {
  readonly #pub: Pick<PubAckPublisher, "publish">;
  readonly #subjectFor: (senderId: string) => string;
  readonly #metrics: WorkerMetrics;
  readonly #logger: Logger;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  #closed = false;
  readonly #sleepers = new Set<() => void>();

  constructor(options: OutcomePublisherOptions) {
    this.#pub = options.pub;
    this.#subjectFor = options.subjectFor;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
    this.#retryBaseMs = options.retryBaseMs ?? DEFAULT_PUBLISH_RETRY_BASE_MS;
    this.#retryMaxMs = options.retryMaxMs ?? DEFAULT_PUBLISH_RETRY_MAX_MS;
  }

  async publish(outcome: Outcome): Promise<boolean> {
    const subject = this.#subjectFor(outcome.sender_id);
    const data = JSON.stringify(outcome);
    const msgID = outcomeMsgId(outcome);
    for (let attempt = 0; ; attempt++) {
      if (this.#closed) return false;
      const h = headers();
      for (const [k, v] of outcomeHeaders(outcome)) h.set(k, v);
      const started = performance.now();
      try {
        await this.#pub.publish(subject, data, msgID, h);
        this.#metrics.observe("outcome_publish_ms", performance.now() - started);
        this.#metrics.inc(Metric.OutcomesPublished);
        return true;
      } catch (err) {
        this.#metrics.inc(Metric.OutcomePublishErrors);
        const delay = Math.min(this.#retryMaxMs, this.#retryBaseMs * 2 ** Math.min(attempt, 20));
        this.#logger.warn(
          {
            ...errorFields(err),
            messageId: outcome.message_id,
            senderId: outcome.sender_id,
            attempt,
            retryInMs: delay,
          },
          "outcome publish failed; retrying",
        );
        await this.#sleep(delay);
      }
    }
  }

  /** Stops retrying: pending publishes resolve false (their work messages stay un-acked and are redelivered). */
  close(): void {
    this.#closed = true;
    for (const wake of this.#sleepers) wake();
    this.#sleepers.clear();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }
}
