/**
 * Builds the outcome record (the contract's `Outcome`, schema version 1) of a downstream message from
 * what ended it, and its headers. The record's shape, headers and id rule live in @ccs/contract.
 */
import { isPermanentTokenError, type StanzaErrorInfo } from "@ccs/ccs-protocol";
import { OUTCOME_SCHEMA_VERSION, type Outcome, OutcomeHeaders, TokenAction, WorkerCode } from "@ccs/contract";

export { type Outcome, outcomeMsgId, WorkerCode } from "@ccs/contract";

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

/** Header values of an outcome (names in the contract's OutcomeHeaders). */
export function outcomeHeaders(outcome: Outcome): Array<[string, string]> {
  const headers: Array<[string, string]> = [
    [OutcomeHeaders.Status, outcome.status],
    [OutcomeHeaders.MessageId, outcome.message_id],
  ];
  if (outcome.code !== undefined) headers.push([OutcomeHeaders.Code, outcome.code]);
  if (outcome.token_action !== undefined) headers.push([OutcomeHeaders.TokenAction, outcome.token_action]);
  if (outcome.fencing_token !== undefined) {
    headers.push([OutcomeHeaders.FencingToken, String(outcome.fencing_token)]);
  }
  if (outcome.slot !== undefined) headers.push([OutcomeHeaders.Slot, outcome.slot]);
  return headers;
}
