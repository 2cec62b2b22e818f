/**
 * Payload JSON shapes (wire field names, snake_case) and the discriminated unions the
 * readers produce. Server = CCS (or our emulator), client = app server (our worker).
 */
import type { NackCode, RetryClass } from "./nack-codes.ts";

/** Downstream request, app server -> CCS. */
export interface DownstreamRequest {
  /** One registration token (no multiple recipients), or a `/topics/...` destination. */
  to: string;
  /** Required, unique per sender ID. */
  message_id: string;
  data?: Record<string, string>;
  notification?: Record<string, unknown>;
  collapse_key?: string;
  priority?: "normal" | "high";
  content_available?: boolean;
  /** Seconds, 0..2419200. */
  time_to_live?: number;
  delay_while_idle?: boolean;
  delivery_receipt_requested?: boolean;
  dry_run?: boolean;
  condition?: string;
}

/** ACK of an upstream message or receipt, app server -> CCS. */
export interface UpstreamAckPayload {
  to: string;
  message_id: string;
  message_type: "ack";
}

/** ACK of a downstream message, CCS -> app server. */
export interface AckPayload {
  message_type: "ack";
  from: string;
  message_id: string;
  /** Canonical registration token, when the one used has been replaced. */
  registration_id?: string;
}

export interface NackPayload {
  message_type: "nack";
  from?: string;
  message_id: string;
  /** A NackCode, or (older form, 004) the whole `InvalidJson : ...` text, or an unknown code. */
  error: string;
  error_description?: string;
}

export interface ReceiptData {
  message_status: string;
  original_message_id: string;
  device_registration_id?: string;
  message_sent_timestamp?: string;
  [key: string]: string | undefined;
}

export interface ReceiptPayload {
  message_type: "receipt";
  from: string;
  /** `dr2:` + the original message id; ACK it with this id. */
  message_id: string;
  category: string;
  data: ReceiptData;
  time_to_live?: number;
}

export interface ControlPayload {
  message_type: "control";
  control_type: string;
}

/** Upstream message from a device; it has no `message_type`. */
export interface UpstreamPayload {
  from: string;
  category: string;
  message_id: string;
  data: Record<string, string>;
  time_to_live?: number;
}

export interface AckMessage {
  kind: "ack";
  messageId: string;
  from: string;
  registrationId?: string;
  payload: AckPayload;
}
export interface NackMessage {
  kind: "nack";
  messageId: string;
  from?: string;
  /** `error` as received. */
  error: string;
  /** The code to act on: see `normalizeNackCode` (unknown codes become INTERNAL_SERVER_ERROR). */
  code: NackCode;
  retry: RetryClass;
  description?: string;
  payload: NackPayload;
}
export interface ReceiptMessage {
  kind: "receipt";
  messageId: string;
  from: string;
  category: string;
  originalMessageId: string;
  messageStatus: string;
  deviceRegistrationId?: string;
  payload: ReceiptPayload;
}
export interface ControlMessage {
  kind: "control";
  controlType: string;
  payload: ControlPayload;
}
export interface UpstreamMessage {
  kind: "upstream";
  messageId: string;
  from: string;
  category: string;
  data: Record<string, string>;
  timeToLive?: number;
  payload: UpstreamPayload;
}
/** A `message_type` we don't know: "can be ignored" (000). */
export interface UnknownServerMessage {
  kind: "unknown";
  messageType: string;
  payload: unknown;
}

export type ServerMessage =
  | AckMessage
  | NackMessage
  | ReceiptMessage
  | ControlMessage
  | UpstreamMessage
  | UnknownServerMessage;

export interface DownstreamClientMessage {
  kind: "downstream";
  /** Unvalidated: run `validateDownstream` on it. */
  payload: Record<string, unknown>;
}
export interface UpstreamAckClientMessage {
  kind: "upstream-ack";
  to: string;
  messageId: string;
  payload: UpstreamAckPayload;
}
/** `message_type: "ack"` without a string `to` and `message_id`: CCS answers BAD_ACK. */
export interface BadAckClientMessage {
  kind: "bad-ack";
  /** `message_id` when it is a string. */
  messageId?: string;
  payload: Record<string, unknown>;
}
export interface UnknownClientMessage {
  kind: "unknown";
  messageType: string;
  payload: Record<string, unknown>;
}

export type ClientMessage =
  | DownstreamClientMessage
  | UpstreamAckClientMessage
  | BadAckClientMessage
  | UnknownClientMessage;

/** The XMPP stanza error of a `<message type="error">`. */
export interface StanzaErrorInfo {
  /** Legacy numeric code, e.g. "400". */
  code: string;
  /** e.g. "modify". */
  type: string;
  /** Defined condition, e.g. "bad-request". */
  condition: string;
  text?: string;
}

/** A `<message type="error">` CCS returned for a stanza it could not take. */
export interface StanzaErrorMessage {
  kind: "stanza-error";
  /** `id` attribute of the stanza. */
  stanzaId?: string;
  error: StanzaErrorInfo;
  /** The echoed `<gcm>` JSON text, if any. */
  payloadJson?: string;
  /** `message_id` of the echoed JSON when it parses and has one. */
  messageId?: string;
}
