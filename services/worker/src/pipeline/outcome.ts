/**
 * The outcome record: exactly one per downstream message, published to `<prefix>.out.<senderId>`.
 * Schema version 1; field names are snake_case like the CCS wire format.
 */
import { isPermanentTokenError, type StanzaErrorInfo } from "@ccs/ccs-protocol";

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
export const OutcomeHeader = {
  Status: "Ccs-Status",
  MessageId: "Ccs-Message-Id",
  Code: "Ccs-Code",
  TokenAction: "Ccs-Token-Action",
  /** Coordinated mode: the owner's fencing token and the cluster slot the message went through. */
  FencingToken: "Ccs-Fencing-Token",
  Slot: "Ccs-Slot",
} as const;

/** What ended the message, before the common fields are added. */
export type Verdict =
  | { readonly status: "acked"; readonly canonicalRegistrationId?: string }
  | { readonly status: "nacked"; readonly code: string; readonly description?: string }
  | {
      readonly status: "rejected";
      readonly by: "worker" | "ccs";
      readonly code: string;
      readonly description?: string;
      readonly stanzaError?: StanzaErrorInfo;
    }
  | { readonly status: "expired"; readonly description: string };

export interface OutcomeContext {
  readonly messageId: string;
  readonly senderId: string;
  readonly to: string | null;
  readonly attempts: number;
  readonly retries: number;
  readonly deliveries: number;
  readonly publishedAtMs: number;
  readonly firstSentAtMs?: number;
  readonly completedAtMs: number;
  readonly connectionId?: string;
  readonly workerId: string;
  /** Coordinated mode: the slot's fence when the message was fetched or sent. */
  readonly fence?: { readonly slot: string; readonly token: number };
}

export function buildOutcome(verdict: Verdict, ctx: OutcomeContext): Outcome {
  // Built field by field (hot path: one per message); key order is the documented one.
  const o: { -readonly [K in keyof Outcome]?: Outcome[K] } = {
    v: OUTCOME_SCHEMA_VERSION,
    message_id: ctx.messageId,
    sender_id: ctx.senderId,
    to: ctx.to,
    status: verdict.status,
  };
  switch (verdict.status) {
    case "acked": {
      const canonical = verdict.canonicalRegistrationId;
      if (canonical !== undefined && canonical !== ctx.to) {
        o.canonical_registration_id = canonical;
        o.token_action = TokenAction.Replace;
        o.new_token = canonical;
      }
      break;
    }
    case "nacked":
      o.code = verdict.code;
      if (verdict.description !== undefined) o.description = verdict.description;
      if (isPermanentTokenError(verdict.code)) o.token_action = TokenAction.Remove;
      break;
    case "rejected":
      o.code = verdict.code;
      if (verdict.description !== undefined) o.description = verdict.description;
      if (verdict.stanzaError !== undefined) o.stanza_error = verdict.stanzaError;
      o.rejected_by = verdict.by;
      if (isPermanentTokenError(verdict.code)) o.token_action = TokenAction.Remove;
      break;
    case "expired":
      o.code = WorkerCode.TtlExpired;
      o.description = verdict.description;
      break;
  }
  o.attempts = ctx.attempts;
  o.retries = ctx.retries;
  o.deliveries = ctx.deliveries;
  o.published_at = new Date(ctx.publishedAtMs).toISOString();
  if (ctx.firstSentAtMs !== undefined) o.first_sent_at = new Date(ctx.firstSentAtMs).toISOString();
  o.completed_at = new Date(ctx.completedAtMs).toISOString();
  o.latency_ms = Math.max(0, ctx.completedAtMs - ctx.publishedAtMs);
  if (ctx.connectionId !== undefined) o.connection_id = ctx.connectionId;
  o.worker_id = ctx.workerId;
  if (ctx.fence !== undefined) {
    o.slot = ctx.fence.slot;
    o.fencing_token = ctx.fence.token;
  }
  return o as Outcome;
}

/** Header values of an outcome (names in OutcomeHeader). */
export function outcomeHeaders(outcome: Outcome): Array<[string, string]> {
  const headers: Array<[string, string]> = [
    [OutcomeHeader.Status, outcome.status],
    [OutcomeHeader.MessageId, outcome.message_id],
  ];
  if (outcome.code !== undefined) headers.push([OutcomeHeader.Code, outcome.code]);
  if (outcome.token_action !== undefined) headers.push([OutcomeHeader.TokenAction, outcome.token_action]);
  if (outcome.fencing_token !== undefined) {
    headers.push([OutcomeHeader.FencingToken, String(outcome.fencing_token)]);
  }
  if (outcome.slot !== undefined) headers.push([OutcomeHeader.Slot, outcome.slot]);
  return headers;
}

/** Nats-Msg-Id of an outcome: one outcome per message per sender, de-duplicated by the outcome stream. */
export function outcomeMsgId(outcome: Pick<Outcome, "sender_id" | "message_id">): string {
  return `${outcome.sender_id}:${outcome.message_id}`;
}
