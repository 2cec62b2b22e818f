/**
 * Turns one JetStream work message into either a request to send or a final verdict (pure).
 * Parse -> message_id (kept, or generated stably) -> CCS validation -> TTL.
 */
import { type DownstreamRequest, TTL_MAX_SECONDS, validateDownstream } from "@ccs/ccs-protocol";
import { type Verdict, WorkerCode } from "./outcome.ts";

export interface WorkEnvelope {
  readonly data: Uint8Array;
  /** The Nats-Msg-Id header, when the producer set one. */
  readonly msgIdHeader?: string;
  /** Stream sequence: stable across redeliveries. */
  readonly streamSeq: number;
  /** JetStream publish time, ms since the epoch. */
  readonly publishedAtMs: number;
  /** JetStream delivery count, 1 on the first delivery. */
  readonly deliveryCount: number;
}

export interface PreparationLimits {
  /** Larger payloads are rejected (PAYLOAD_TOO_LARGE) without parsing. */
  readonly maxPayloadBytes: number;
  /** A delivery beyond this count ends in MAX_DELIVERIES_EXCEEDED. */
  readonly maxDeliveries: number;
}

export type Prepared =
  | {
      readonly kind: "send";
      readonly messageId: string;
      readonly to: string;
      readonly request: DownstreamRequest;
      /** The time_to_live that applies (the request's, or CCS's default of 4 weeks), seconds. */
      readonly ttlSeconds: number;
    }
  | {
      readonly kind: "final";
      readonly messageId: string;
      readonly to: string | null;
      readonly verdict: Verdict;
    };

const decoder = new TextDecoder();

/**
 * message_id for a request that has none: the Nats-Msg-Id header when set, else derived from the
 * stream sequence and publish time, so every redelivery of the same message gets the same id.
 */
export function generatedMessageId(
  envelope: Pick<WorkEnvelope, "msgIdHeader" | "streamSeq" | "publishedAtMs">,
) {
  if (envelope.msgIdHeader !== undefined && envelope.msgIdHeader !== "") return envelope.msgIdHeader;
  return `js-${envelope.streamSeq}-${envelope.publishedAtMs.toString(36)}`;
}

export function prepareMessage(envelope: WorkEnvelope, limits: PreparationLimits): Prepared {
  const fallbackId = generatedMessageId(envelope);
  const text = decoder.decode(envelope.data);
  let value: unknown;
  let parsed = true;
  try {
    value = JSON.parse(text);
  } catch {
    parsed = false;
  }
  const object = isObject(value) ? withMessageId(value, fallbackId) : value;
  const messageId =
    isObject(object) && typeof object.message_id === "string" ? object.message_id : fallbackId;
  const to = isObject(object) && typeof object.to === "string" ? object.to : null;
  // Too large: rejected (with the producer's message_id when it could be read, for correlation).
  if (envelope.data.byteLength > limits.maxPayloadBytes) {
    return reject(messageId, to, {
      status: "rejected",
      by: "worker",
      code: WorkerCode.PayloadTooLarge,
      description: `payload of ${envelope.data.byteLength} bytes exceeds the maximum of ${limits.maxPayloadBytes}`,
    });
  }
  // validateDownstream composes the stanza error CCS gives for unparseable JSON.
  if (!parsed) return fromValidationFailure(fallbackId, null, validateDownstream(text));
  if (envelope.deliveryCount > limits.maxDeliveries) {
    return reject(messageId, to, {
      status: "rejected",
      by: "worker",
      code: WorkerCode.MaxDeliveriesExceeded,
      description: `delivered ${envelope.deliveryCount} times (maximum ${limits.maxDeliveries}) without an outcome`,
    });
  }
  const validation = validateDownstream(object);
  if (!validation.ok) return fromValidationFailure(messageId, to, validation);
  const request = validation.request;
  return {
    kind: "send",
    messageId: request.message_id,
    to: request.to,
    request,
    ttlSeconds: request.time_to_live ?? TTL_MAX_SECONDS,
  };
}

function fromValidationFailure(
  messageId: string,
  to: string | null,
  validation: ReturnType<typeof validateDownstream>,
): Prepared {
  if (validation.ok) throw new TypeError("fromValidationFailure called with a valid request");
  const rejection = validation.rejection;
  if (rejection.kind === "nack") {
    return reject(messageId, to, {
      status: "rejected",
      by: "worker",
      code: rejection.code,
      description: rejection.description,
    });
  }
  const stanza = rejection.error;
  return reject(messageId, to, {
    status: "rejected",
    by: "worker",
    code: WorkerCode.StanzaError,
    ...(stanza.text === undefined ? {} : { description: stanza.text }),
    stanzaError: stanza,
  });
}

function reject(messageId: string, to: string | null, verdict: Verdict): Prepared {
  return { kind: "final", messageId, to, verdict };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function withMessageId(value: Record<string, unknown>, fallbackId: string): Record<string, unknown> {
  const id = value.message_id;
  if (id === undefined || id === null || id === "") return { ...value, message_id: fallbackId };
  return value;
}

export type TtlCheck =
  | { readonly expired: false; readonly request: DownstreamRequest }
  | { readonly expired: true; readonly description: string };

/**
 * TTL counted from the JetStream publish time, in whole seconds as CCS counts it: a message is
 * expired once `floor(age / 1 s) > time_to_live` (so a time_to_live of 0 still has its first second).
 * When it is still alive, the request's time_to_live (if it set one) is lowered to what is left,
 * so CCS does not keep the message longer than the producer asked.
 */
export function checkTtl(
  request: DownstreamRequest,
  ttlSeconds: number,
  publishedAtMs: number,
  nowMs: number,
) {
  const ageSeconds = Math.floor(Math.max(0, nowMs - publishedAtMs) / 1000);
  if (ageSeconds > ttlSeconds) {
    return {
      expired: true,
      description: `time_to_live of ${ttlSeconds} s ran out (${ageSeconds} s since publish)`,
    } satisfies TtlCheck;
  }
  if (request.time_to_live === undefined || ageSeconds === 0)
    return { expired: false, request } satisfies TtlCheck;
  return {
    expired: false,
    request: { ...request, time_to_live: ttlSeconds - ageSeconds },
  } satisfies TtlCheck;
}

/** Whether the message would be expired at `atMs` (used before scheduling a delayed retry). */
export function expiresBefore(ttlSeconds: number, publishedAtMs: number, atMs: number): boolean {
  return Math.floor(Math.max(0, atMs - publishedAtMs) / 1000) > ttlSeconds;
}
