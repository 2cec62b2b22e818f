/**
 * The outcome record: exactly one per downstream message, published by a worker to
 * `<prefix>.out.<senderId>` (stream `<PREFIX>_OUTCOMES`) and read by app servers. Schema version 1;
 * field names are snake_case like the CCS wire format. JSON Schema: schemas/outcome.schema.json.
 */
import type { StanzaErrorInfo } from "@ccs/ccs-protocol";

export const OUTCOME_SCHEMA_VERSION = 1;

export const OutcomeStatus = {
  /** CCS ACKed the message. */
  Acked: "acked",
  /** CCS NACKed it and the NACK is final (not retryable, or retries exhausted). */
  Nacked: "nacked",
  /** Never accepted: invalid by CCS's rules (checked by the worker), a CCS stanza error, or a poison message. */
  Rejected: "rejected",
  /** Its time_to_live (counted from the JetStream publish time) ran out before it could be sent. */
  Expired: "expired",
} as const;
export type OutcomeStatus = (typeof OutcomeStatus)[keyof typeof OutcomeStatus];

/** What the app server should do with the registration token. */
export const TokenAction = {
  /** BAD_REGISTRATION / DEVICE_UNREGISTERED (or a malformed token): delete it. */
  Remove: "remove",
  /** CCS gave a canonical registration id: replace the token with `new_token`. */
  Replace: "replace",
} as const;
export type TokenAction = (typeof TokenAction)[keyof typeof TokenAction];

/** Codes of rejections and expiries decided by the worker (NACK codes are CCS's own). */
export const WorkerCode = {
  /** A stanza error (malformed message): details in `stanza_error`. */
  StanzaError: "STANZA_ERROR",
  /** The JetStream message is larger than the configured maximum payload. */
  PayloadTooLarge: "PAYLOAD_TOO_LARGE",
  /** Delivered by JetStream more often than the configured maximum without reaching an outcome. */
  MaxDeliveriesExceeded: "MAX_DELIVERIES_EXCEEDED",
  /** time_to_live ran out. */
  TtlExpired: "TTL_EXPIRED",
} as const;
export type WorkerCode = (typeof WorkerCode)[keyof typeof WorkerCode];

export interface Outcome {
  readonly v: typeof OUTCOME_SCHEMA_VERSION;
  readonly message_id: string;
  readonly sender_id: string;
  /** The `to` of the request, null when it could not be read. */
  readonly to: string | null;
  readonly status: OutcomeStatus;
  /** NACK code (nacked, or rejected by the worker with the NACK CCS would give) or a WorkerCode. */
  readonly code?: string;
  readonly description?: string;
  readonly stanza_error?: StanzaErrorInfo;
  /** For `rejected`: whether the worker's validation or CCS itself refused the message. */
  readonly rejected_by?: "worker" | "ccs";
  readonly canonical_registration_id?: string;
  readonly token_action?: TokenAction;
  /** With token_action "replace": the token to use from now on. */
  readonly new_token?: string;
  /** Sends to CCS for this message in the delivery that produced the outcome (0 when never sent). */
  readonly attempts: number;
  /** Retries spent in that delivery (NACK retries and resends after `lost`). */
  readonly retries: number;
  /** JetStream delivery count of the work message (1 on the first delivery). */
  readonly deliveries: number;
  /** JetStream publish time of the request, ISO 8601. */
  readonly published_at: string;
  readonly first_sent_at?: string;
  readonly completed_at: string;
  /** completed_at - published_at, ms. */
  readonly latency_ms: number;
  readonly connection_id?: string;
  readonly worker_id: string;
  /** Coordinated mode: the cluster slot (`<senderId>:<index>`) and its owner's fencing token. */
  readonly slot?: string;
  readonly fencing_token?: number;
}

/** Headers every outcome message carries (besides Nats-Msg-Id = `<senderId>:<message_id>`). */
export const OutcomeHeaders = {
  Status: "Ccs-Status",
  MessageId: "Ccs-Message-Id",
  Code: "Ccs-Code",
  TokenAction: "Ccs-Token-Action",
  /** Coordinated mode: the owner's fencing token and the cluster slot the message went through. */
  FencingToken: "Ccs-Fencing-Token",
  Slot: "Ccs-Slot",
} as const;

/** Nats-Msg-Id of an outcome: one outcome per message per sender, de-duplicated by the outcome stream. */
export function outcomeMsgId(outcome: Pick<Outcome, "sender_id" | "message_id">): string {
  return `${outcome.sender_id}:${outcome.message_id}`;
}
