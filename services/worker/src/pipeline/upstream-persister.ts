/**
 * Makes upstream messages and receipts durable in NATS (`<prefix>.internal.up.<senderId>`) and only
 * then ACKs them to CCS, on the connection that carried them (UpstreamDelivery.ack()).
 *
 * CCS resends an un-ACKed upstream message only when a new connection is established (reference 001:
 * "CCS resends it the next time a new XMPP connection is established"), and stops sending to a
 * connection that holds too many un-ACKed ones. So a message is never just left un-ACKed on a
 * connection that stays open:
 * - publishing is retried with backoff for as long as the carrying connection is open (a NATS outage
 *   or a stream at its limits only delays the ACK);
 * - when that connection closes, the retries stop: CCS resends the message on the next connection;
 * - when the worker gives up (shutdown), the connection is closed (`abandon`) so that CCS resends.
 * The slot's lease is not checked: coordinators de-duplicate upstream by (sender, kind, from,
 * message_id), so persisting and ACKing on a connection whose lease lapsed is safe, while refusing
 * would leave the message stuck until that connection closes.
 */

import { UpstreamHeaders, upstreamMsgId } from "@ccs/contract";
import { errorFields, type Logger } from "@ccs/telemetry";
import type { JetStreamClient } from "@nats-io/jetstream";
import { headers, type MsgHdrs } from "@nats-io/transport-node";
import type { UpstreamDelivery } from "../connection/contract.ts";
import { Metric, type WorkerMetrics } from "../metrics.ts";

/** First retry delay after a failed publish; doubles per attempt up to the cap (±20 % jitter). */
export const DEFAULT_UPSTREAM_RETRY_MS = 250;
export const DEFAULT_UPSTREAM_RETRY_MAX_MS = 5_000;
/** A failing message is logged at its first failure, then once per this many attempts. */
const LOG_EVERY_ATTEMPTS = 20;

export interface UpstreamPersisterOptions {
  readonly js: JetStreamClient;
  readonly subjectFor: (senderId: string) => string;
  readonly workerId: string;
  readonly metrics: WorkerMetrics;
  readonly logger: Logger;
  readonly retryMs?: number;
  readonly retryMaxMs?: number;
  readonly random?: () => number;
}

/** running → closing (no new retries; what is left is abandoned) → closed. */
export type UpstreamPersisterState = "running" | "closing" | "closed";

export class UpstreamPersister {
  readonly #o: UpstreamPersisterOptions;
  readonly #inFlight = new Set<Promise<void>>();
  /** Aborted by close(): wakes every retry wait at once. */
  readonly #closing = new AbortController();
  #state: UpstreamPersisterState = "running";

  constructor(options: UpstreamPersisterOptions) {
    this.#o = options;
  }

  get state(): UpstreamPersisterState {
    return this.#state;
  }

  /** Messages taken and not yet ACKed or given up (waiting for NATS, or being published). */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** The connections' UpstreamSink: fire and forget, never throws; settles on its own. */
  readonly accept = (delivery: UpstreamDelivery): void => {
    const p = this.persist(delivery).finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  };

  /** Persists, then ACKs to CCS; retries while the connection is open. Resolves when done (never rejects). */
  async persist(delivery: UpstreamDelivery): Promise<void> {
    const { js, subjectFor, metrics, logger } = this.#o;
    const h = this.#headers(delivery);
    const msgID = upstreamMsgId(delivery);
    const fields = {
      senderId: delivery.senderId,
      connectionId: delivery.connectionId,
      kind: delivery.kind,
      messageId: delivery.messageId,
    };
    for (let attempt = 1; ; attempt++) {
      if (delivery.signal.aborted) {
        metrics.inc(Metric.UpstreamLeftToCcs, delivery.kind);
        logger.info(
          { ...fields, attempts: attempt - 1 },
          "connection closed before the upstream message was persisted: CCS resends it on a new connection",
        );
        return;
      }
      if (this.#state !== "running") {
        metrics.inc(Metric.UpstreamAbandoned, delivery.kind);
        delivery.abandon("the worker is shutting down and the message is not persisted");
        return;
      }
      try {
        await js.publish(subjectFor(delivery.senderId), delivery.payloadJson, { msgID, headers: h });
        metrics.inc(Metric.UpstreamPersisted, delivery.kind);
        if (delivery.ack()) metrics.inc(Metric.UpstreamAcked, delivery.kind);
        else metrics.inc(Metric.UpstreamAckDropped, delivery.kind);
        if (attempt > 1)
          logger.info({ ...fields, attempts: attempt }, "upstream message persisted after retries");
        return;
      } catch (err) {
        metrics.inc(Metric.UpstreamPersistErrors);
        if (attempt === 1 || attempt % LOG_EVERY_ATTEMPTS === 0) {
          logger.warn(
            { ...errorFields(err), ...fields, attempt },
            "upstream persist failed: retrying while its connection is open (not ACKed meanwhile)",
          );
        }
        await this.#pause(attempt, delivery.signal);
      }
    }
  }

  /** Stops retrying: what is still waiting is abandoned (its connection closed); waits for that. */
  async close(): Promise<void> {
    if (this.#state === "running") {
      this.#state = "closing";
      this.#closing.abort();
    }
    await Promise.allSettled([...this.#inFlight]);
    this.#state = "closed";
  }

  #headers(delivery: UpstreamDelivery): MsgHdrs {
    const h = headers();
    h.set(UpstreamHeaders.kind, delivery.kind);
    h.set(UpstreamHeaders.senderId, delivery.senderId);
    h.set(UpstreamHeaders.connectionId, delivery.connectionId);
    h.set(UpstreamHeaders.from, delivery.from);
    h.set(UpstreamHeaders.messageId, delivery.messageId);
    if (delivery.category !== undefined) h.set(UpstreamHeaders.category, delivery.category);
    h.set(UpstreamHeaders.receivedAt, new Date(delivery.receivedAt).toISOString());
    h.set(UpstreamHeaders.workerId, this.#o.workerId);
    return h;
  }

  /** Backoff before the next attempt; ends early when the connection closes or the persister closes. */
  #pause(attempt: number, connection: AbortSignal): Promise<void> {
    const base = this.#o.retryMs ?? DEFAULT_UPSTREAM_RETRY_MS;
    const cap = this.#o.retryMaxMs ?? DEFAULT_UPSTREAM_RETRY_MAX_MS;
    const jitter = 0.8 + 0.4 * (this.#o.random ?? Math.random)();
    const ms = Math.min(cap, base * 2 ** Math.min(attempt - 1, 20)) * jitter;
    if (connection.aborted || this.#closing.signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        connection.removeEventListener("abort", done);
        this.#closing.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      connection.addEventListener("abort", done, { once: true });
      this.#closing.signal.addEventListener("abort", done, { once: true });
    });
  }
}
