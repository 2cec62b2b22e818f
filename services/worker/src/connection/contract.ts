// The contract between the worker's connection layer (src/connection/) and its pipeline (src/pipeline/).
// The connection layer speaks XMPP to CCS; the pipeline turns JetStream work into sends and outcomes.
// Neither side imports the other's internals: only these types.
import type { DownstreamRequest, StanzaErrorInfo } from "@ccs/ccs-protocol";

/** Lifecycle of one CCS connection. Transitions are logged by the connection's single state setter. */
export type ConnectionState = "connecting" | "authenticating" | "online" | "draining" | "closed";

/** What became of one downstream send on one connection. A send always settles with exactly one of these. */
export type SendResult =
  | { readonly kind: "ack"; readonly canonicalRegistrationId?: string }
  | { readonly kind: "nack"; readonly code: string; readonly description?: string }
  | { readonly kind: "stanza-error"; readonly error: StanzaErrorInfo }
  /** No answer: the connection closed with the message pending, or no answer came before the answer timeout. */
  | { readonly kind: "lost"; readonly reason: "connection-closed" | "answer-timeout" };

/** An upstream message or delivery receipt that arrived on a connection. */
export interface UpstreamDelivery {
  readonly kind: "upstream" | "receipt";
  readonly senderId: string;
  readonly connectionId: string;
  /** Device registration token (`from`); for receipts, the receipt's `from` ("gcm.googleapis.com"). */
  readonly from: string;
  readonly messageId: string;
  readonly category?: string;
  /** The JSON payload exactly as received (for publishing downstream of the worker). */
  readonly payloadJson: string;
  readonly receivedAt: number;
  /**
   * Aborted when the connection that carried the message closes. From then on an ACK is impossible and
   * CCS resends the message on the sender's next new connection, so work on this copy can stop.
   */
  readonly signal: AbortSignal;
  /**
   * Sends the ACK to CCS on the connection that carried the message (ACKs are only valid there).
   * Bypasses the pending window. Returns false when that connection is already closed: CCS will
   * redeliver the message on a new connection, so the caller just drops it.
   */
  ack(): boolean;
  /**
   * For when the message must not be ACKed (it could not be made durable and the worker gives up on
   * it, e.g. at shutdown): closes the connection that carried it, because CCS resends an un-ACKed
   * message only on a new connection; left open, the connection would keep it stuck. Logs the reason.
   */
  abandon(reason: string): void;
}

/**
 * Where a connection hands every upstream message and receipt it reads, from the moment it is
 * authenticated, whatever becomes of its slot (prepared, granted, draining, revoked). Given to the
 * connection when it is created, so no message can arrive with nobody to take it. Must not throw.
 */
export type UpstreamSink = (delivery: UpstreamDelivery) => void;

export interface ConnectionEvents {
  state: (state: ConnectionState, previous: ConnectionState) => void;
  /** Window room grew (an answer arrived or the connection came online): the pipeline may send more. */
  room: (room: number) => void;
}

/** One authenticated XMPP connection to CCS for one sender. */
export interface CcsConnection {
  readonly id: string;
  readonly senderId: string;
  readonly state: ConnectionState;
  /** Messages sent and not yet answered (including ones whose answer timed out, until the connection is recycled). */
  readonly pending: number;
  readonly windowSize: number;
  /** How many more messages may be sent now: 0 unless online; never lets pending exceed windowSize. */
  room(): number;
  /**
   * Sends one downstream message. Precondition: room() > 0 (throws IllegalStateError otherwise).
   * Resolves with the answer; never rejects for protocol outcomes. Writes are batched per tick.
   */
  send(request: DownstreamRequest): Promise<SendResult>;
  on<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this;
  off<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this;
}

/** A sender's connection slot: keeps one live connection, reconnecting and replacing drained ones. */
export interface SlotEvents {
  /** A new connection became online (first one, a reconnect, or a drain replacement). */
  connection: (connection: CcsConnection) => void;
  /** Authentication was refused: reported loudly, retried with backoff (never a reconnect storm). */
  authFailed: (error: Error, nextAttemptInMs: number) => void;
  /** The slot's current connection started draining (before its replacement is online). */
  draining: (connection: CcsConnection) => void;
}

export interface ConnectionSlot {
  readonly senderId: string;
  readonly slotIndex: number;
  /** Connections of this slot that are open: the current one plus draining ones waiting for CCS to close them. */
  connections(): readonly CcsConnection[];
  on<E extends keyof SlotEvents>(event: E, listener: SlotEvents[E]): this;
  off<E extends keyof SlotEvents>(event: E, listener: SlotEvents[E]): this;
  start(): void;
  /**
   * Installs a predicate checked right before every socket write of every connection of this slot,
   * present and future (the pipeline passes its slot lease's validity). When it fails nothing more is
   * written: the connection closes and its pending sends settle as lost. So a worker resumed after a
   * freeze past its lease TTL cannot send on a slot it lost, not even what it queued before the freeze.
   */
  setSendGate?(gate: () => boolean): void;
  /** Stops reconnecting; waits up to graceMs for pending answers, then closes every connection. */
  close(graceMs: number): Promise<void>;
}
