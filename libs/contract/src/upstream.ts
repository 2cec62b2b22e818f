// Upstream messages and delivery receipts as workers make them durable on `ccs.internal.up.<sender>`:
// the body is CCS's JSON payload unchanged and the metadata travels in headers. Also the identities
// derived from them: the worker's `Nats-Msg-Id` and the coordinators' de-duplication digest.

import { createHash } from "node:crypto";
import { MalformedUpstreamError } from "./errors.ts";
import { isValidSenderId } from "./sender-id.ts";

export type UpstreamKind = "upstream" | "receipt";

/** Header names on internal and published upstream messages (same names as the worker's persister). */
export const UpstreamHeaders = {
  /** JetStream de-duplication id. */
  msgId: "Nats-Msg-Id",
  kind: "Ccs-Kind",
  senderId: "Ccs-Sender-Id",
  connectionId: "Ccs-Connection-Id",
  from: "Ccs-From",
  messageId: "Ccs-Message-Id",
  category: "Ccs-Category",
  /** ISO-8601 time the worker received it. */
  receivedAt: "Ccs-Received-At",
  workerId: "Ccs-Worker-Id",
  /** Added by the coordinator on published copies: the de-duplication key. */
  dedupeKey: "Ccs-Dedupe-Key",
} as const;

export interface UpstreamRecord {
  readonly kind: UpstreamKind;
  readonly senderId: string;
  /** Device registration token (`from`); for receipts the receipt's `from`. */
  readonly from: string;
  /** CCS `message_id` (device-chosen for upstream: unique per device only). */
  readonly messageId: string;
  readonly category: string | undefined;
  readonly receivedAt: string | undefined;
  readonly workerId: string | undefined;
  readonly connectionId: string | undefined;
}

/** Reads the record's metadata from its headers (`get` returns undefined for a missing header). */
export function parseUpstreamHeaders(get: (name: string) => string | undefined): UpstreamRecord {
  const kind = get(UpstreamHeaders.kind);
  if (kind !== "upstream" && kind !== "receipt") {
    throw new MalformedUpstreamError(`${UpstreamHeaders.kind} must be upstream or receipt`);
  }
  const senderId = get(UpstreamHeaders.senderId);
  if (senderId === undefined || !isValidSenderId(senderId)) {
    throw new MalformedUpstreamError(`${UpstreamHeaders.senderId} is missing or invalid`);
  }
  const from = get(UpstreamHeaders.from);
  const messageId = get(UpstreamHeaders.messageId);
  if (from === undefined || from.length === 0 || messageId === undefined || messageId.length === 0) {
    throw new MalformedUpstreamError(`${UpstreamHeaders.from} and ${UpstreamHeaders.messageId} are required`);
  }
  const optional = (name: string): string | undefined => {
    const v = get(name);
    return v === undefined || v.length === 0 ? undefined : v;
  };
  return {
    kind,
    senderId,
    from,
    messageId,
    category: optional(UpstreamHeaders.category),
    receivedAt: optional(UpstreamHeaders.receivedAt),
    workerId: optional(UpstreamHeaders.workerId),
    connectionId: optional(UpstreamHeaders.connectionId),
  };
}

/**
 * The de-duplication identity of an upstream message or receipt: SHA-256 over (kind, sender, from,
 * message_id), 128 bits as base64url (22 chars). Fixed-size whatever the token length (a Redis key
 * costs the same for every message) and usable as `Nats-Msg-Id`.
 */
export function upstreamDedupeDigest(
  record: Pick<UpstreamRecord, "kind" | "senderId" | "from" | "messageId">,
): string {
  return createHash("sha256")
    .update(`${record.kind}\u0000${record.senderId}\u0000${record.from}\u0000${record.messageId}`)
    .digest()
    .subarray(0, 16)
    .toString("base64url");
}

/**
 * `Nats-Msg-Id` of a worker's internal upstream record: device message ids are unique per device
 * only, so it includes `from`; CCS resending the same message (same from + message_id) is dropped by
 * the stream's duplicate window.
 */
export function upstreamMsgId(
  record: Pick<UpstreamRecord, "kind" | "senderId" | "from" | "messageId">,
): string {
  return `${record.senderId}:${record.kind}:${record.from}:${record.messageId}`;
}
