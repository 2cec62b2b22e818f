/**
 * Makes upstream messages and receipts durable in NATS (`<prefix>.internal.up.<senderId>`) and only
 * then ACKs them to CCS, on the connection that carried them (UpstreamDelivery.ack()).
 * If it cannot persist, it does not ACK: CCS redelivers un-ACKed upstream messages.
 */

import { errorFields, type Logger } from "@ccs/telemetry";
import type { JetStreamClient } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import type { SlotFence } from "../assignment/assignment-source.ts";
import type { UpstreamDelivery } from "../connection/contract.ts";
import { Metric, type WorkerMetrics } from "../metrics.ts";

export const DEFAULT_UPSTREAM_PUBLISH_ATTEMPTS = 3;
export const DEFAULT_UPSTREAM_RETRY_MS = 250;

/** Headers of a persisted upstream message (its body is CCS's JSON payload, unchanged). */
export const UpstreamHeader = {
  Kind: "Ccs-Kind",
  SenderId: "Ccs-Sender-Id",
  ConnectionId: "Ccs-Connection-Id",
  From: "Ccs-From",
  MessageId: "Ccs-Message-Id",
  Category: "Ccs-Category",
  ReceivedAt: "Ccs-Received-At",
  WorkerId: "Ccs-Worker-Id",
  /** Coordinated mode: the owner's fencing token and the cluster slot of the connection. */
  FencingToken: "Ccs-Fencing-Token",
  Slot: "Ccs-Slot",
} as const;

export interface UpstreamPersisterOptions {
  readonly js: JetStreamClient;
  readonly subjectFor: (senderId: string) => string;
  readonly workerId: string;
  readonly metrics: WorkerMetrics;
  readonly logger: Logger;
  readonly attempts?: number;
  readonly retryMs?: number;
}

/**
 * Nats-Msg-Id of an upstream message: device message ids are unique per device only, so the id
 * includes `from`; a redelivery by CCS (same from + message_id) is de-duplicated by the stream.
 */
function upstreamMsgId(d: Pick<UpstreamDelivery, "senderId" | "kind" | "from" | "messageId">): string {
  return `${d.senderId}:${d.kind}:${d.from}:${d.messageId}`;
}

export class UpstreamPersister {
  readonly #o: UpstreamPersisterOptions;
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(options: UpstreamPersisterOptions) {
    this.#o = options;
  }

  /**
   * Fire and forget from the connection's `upstream` event; settles on its own. With a `fence`
   * (coordinated mode) nothing is persisted or ACKed once the slot's lease is no longer valid:
   * CCS redelivers the message on a connection of the slot's new owner.
   */
  accept(delivery: UpstreamDelivery, fence?: SlotFence): void {
    const p = this.persist(delivery, fence).finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  /** Persists, then ACKs to CCS. Resolves when done (never rejects). */
  async persist(delivery: UpstreamDelivery, fence?: SlotFence): Promise<void> {
    const { js, subjectFor, metrics, logger } = this.#o;
    if (fence !== undefined && !fence.isValid()) {
      metrics.inc(Metric.UpstreamFenced, delivery.kind);
      logger.warn(
        { senderId: delivery.senderId, slot: fence.slot, fencingToken: fence.token },
        "upstream message on a slot this worker no longer owns: not persisted, not ACKed",
      );
      return;
    }
    const attempts = this.#o.attempts ?? DEFAULT_UPSTREAM_PUBLISH_ATTEMPTS;
    const h = headers();
    h.set(UpstreamHeader.Kind, delivery.kind);
    h.set(UpstreamHeader.SenderId, delivery.senderId);
    h.set(UpstreamHeader.ConnectionId, delivery.connectionId);
    h.set(UpstreamHeader.From, delivery.from);
    h.set(UpstreamHeader.MessageId, delivery.messageId);
    if (delivery.category !== undefined) h.set(UpstreamHeader.Category, delivery.category);
    h.set(UpstreamHeader.ReceivedAt, new Date(delivery.receivedAt).toISOString());
    h.set(UpstreamHeader.WorkerId, this.#o.workerId);
    if (fence !== undefined) {
      h.set(UpstreamHeader.FencingToken, String(fence.token));
      h.set(UpstreamHeader.Slot, fence.slot);
    }
    const msgID = upstreamMsgId(delivery);
    for (let attempt = 1; attempt <= attempts && !this.#closed; attempt++) {
      if (fence !== undefined && !fence.isValid()) break;
      try {
        await js.publish(subjectFor(delivery.senderId), delivery.payloadJson, { msgID, headers: h });
        metrics.inc(Metric.UpstreamPersisted, delivery.kind);
        if (delivery.ack()) metrics.inc(Metric.UpstreamAcked, delivery.kind);
        else metrics.inc(Metric.UpstreamAckDropped, delivery.kind);
        return;
      } catch (err) {
        metrics.inc(Metric.UpstreamPersistErrors);
        logger.warn(
          { ...errorFields(err), senderId: delivery.senderId, connectionId: delivery.connectionId, attempt },
          "upstream persist failed",
        );
        if (attempt < attempts)
          await new Promise((r) => setTimeout(r, (this.#o.retryMs ?? DEFAULT_UPSTREAM_RETRY_MS) * attempt));
      }
    }
    logger.error(
      { senderId: delivery.senderId, connectionId: delivery.connectionId, kind: delivery.kind },
      "upstream message not persisted: not ACKed to CCS (CCS will redeliver it)",
    );
  }

  /** Waits for persists in flight (bounded by the caller's deadline), then refuses new retries. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#inFlight]);
    this.#closed = true;
  }
}
