/**
 * Validation of a downstream request by CCS's rules, returning the answer CCS would send:
 * a stanza error when no `message_id` can be taken from the payload, else a NACK.
 * Order: JSON -> message_id (stanza error) -> `to` present -> field types -> TTL range ->
 * data keys and size -> `to` well-formed (BAD_REGISTRATION).
 */
import { isJsonObject, type JsonObject, utf8Length } from "./json-object.ts";
import type { DownstreamRequest, StanzaErrorInfo } from "./messages.ts";
import { NackCode } from "./nack-codes.ts";
import { JsonJavaType, NACK_TEXTS } from "./nack-texts.ts";
import { isTopicDestination, isWellFormedRegistrationToken } from "./registration-token.ts";

/** Maximum `time_to_live`, seconds (4 weeks). */
export const TTL_MAX_SECONDS = 2419200;
/** Maximum size of `data`, keys plus values, UTF-8 bytes. */
export const DATA_MAX_BYTES = 4096;
/** Collapse keys CCS holds per device (enforced by the emulator's store, not here). */
export const MAX_COLLAPSE_KEYS_PER_DEVICE = 4;
/** Reserved data keys: `from` and any key starting with `google`. */
export const RESERVED_DATA_KEY = "from";
export const RESERVED_DATA_KEY_PREFIX = "google";

export type DownstreamRejection =
  | { kind: "stanza-error"; error: StanzaErrorInfo }
  | { kind: "nack"; code: NackCode; description: string };

export type DownstreamValidation =
  | { ok: true; request: DownstreamRequest }
  | { ok: false; rejection: DownstreamRejection; messageId?: string; to?: string };

export function badRequest(text: string): StanzaErrorInfo {
  return { code: "400", type: "modify", condition: "bad-request", text };
}

export function isReservedDataKey(key: string): boolean {
  return key === RESERVED_DATA_KEY || key.startsWith(RESERVED_DATA_KEY_PREFIX);
}

class Rejected {
  readonly rejection: DownstreamRejection;
  constructor(rejection: DownstreamRejection) {
    this.rejection = rejection;
  }
}

function invalidJson(description: string): Rejected {
  return new Rejected({ kind: "nack", code: NackCode.INVALID_JSON, description });
}

/** Own property, with JSON `null` read as absent (as CCS's JSON library did). */
function present(obj: JsonObject, key: string): unknown {
  return Object.hasOwn(obj, key) ? (obj[key] ?? undefined) : undefined;
}

function optString(obj: JsonObject, key: string): string | undefined {
  const v = present(obj, key);
  if (v === undefined || typeof v === "string") return v;
  throw invalidJson(NACK_TEXTS.jsonTypeError(key, JsonJavaType.String, v));
}

function optBoolean(obj: JsonObject, key: string): boolean | undefined {
  const v = present(obj, key);
  if (v === undefined || typeof v === "boolean") return v;
  throw invalidJson(NACK_TEXTS.jsonTypeError(key, JsonJavaType.Boolean, v));
}

function optNumber(obj: JsonObject, key: string): number | undefined {
  const v = present(obj, key);
  if (v === undefined || typeof v === "number") return v;
  throw invalidJson(NACK_TEXTS.jsonTypeError(key, JsonJavaType.Number, v));
}

function optObject(obj: JsonObject, key: string): JsonObject | undefined {
  const v = present(obj, key);
  if (v === undefined || isJsonObject(v)) return v;
  throw invalidJson(NACK_TEXTS.jsonTypeError(key, JsonJavaType.Object, v));
}

/** UTF-8 bytes of `s`: its length when short and ASCII (the usual data key or value), else counted. */
function utf8Bytes(s: string): number {
  const n = s.length;
  if (n > 64) return utf8Length(s);
  for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) return utf8Length(s);
  return n;
}

/**
 * `data` values: strings as is; numbers and booleans converted to strings (the guide's Python
 * sample sends `{"pong": 1}`; devices receive strings); anything else is a JSON_TYPE_ERROR.
 * The copy gets own data properties in the input's key order (`__proto__` included, as a key).
 */
function checkData(data: JsonObject): Record<string, string> {
  const out: Record<string, string> = {};
  let bytes = 0;
  const keys = Object.keys(data);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (isReservedDataKey(key)) throw invalidJson(NACK_TEXTS.reservedDataKey(key));
    const v = data[key];
    let s: string;
    if (typeof v === "string") s = v;
    else if (typeof v === "number" || typeof v === "boolean") s = String(v);
    else throw invalidJson(NACK_TEXTS.jsonTypeError(key, JsonJavaType.String, v));
    bytes += utf8Bytes(key) + utf8Bytes(s);
    // Plain assignment is a data property for every key but `__proto__` (Object.prototype's only setter).
    if (key === "__proto__") {
      Object.defineProperty(out, key, { value: s, enumerable: true, writable: true, configurable: true });
    } else out[key] = s;
  }
  if (bytes > DATA_MAX_BYTES) throw invalidJson(NACK_TEXTS.messageTooBig(bytes, DATA_MAX_BYTES));
  return out;
}

function checkRequest(obj: JsonObject, messageId: string): DownstreamRequest {
  const toValue = present(obj, "to");
  if (toValue === undefined) throw invalidJson(NACK_TEXTS.missingRequiredField("to"));
  if (typeof toValue !== "string")
    throw invalidJson(NACK_TEXTS.jsonTypeError("to", JsonJavaType.String, toValue));
  const request: DownstreamRequest = { to: toValue, message_id: messageId };

  const collapseKey = optString(obj, "collapse_key");
  const ttl = optNumber(obj, "time_to_live");
  const delayWhileIdle = optBoolean(obj, "delay_while_idle");
  const receipt = optBoolean(obj, "delivery_receipt_requested");
  const dryRun = optBoolean(obj, "dry_run");
  const contentAvailable = optBoolean(obj, "content_available");
  const priority = optString(obj, "priority");
  const data = optObject(obj, "data");
  const notification = optObject(obj, "notification");
  const condition = optString(obj, "condition");

  if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 0 || ttl > TTL_MAX_SECONDS)) {
    throw invalidJson(NACK_TEXTS.invalidTtl(ttl, TTL_MAX_SECONDS));
  }
  if (priority !== undefined && priority !== "normal" && priority !== "high") {
    throw invalidJson(NACK_TEXTS.invalidPriority(priority));
  }
  if (data !== undefined) request.data = checkData(data);
  if (notification !== undefined) request.notification = notification;
  if (collapseKey !== undefined) request.collapse_key = collapseKey;
  if (priority !== undefined) request.priority = priority;
  if (contentAvailable !== undefined) request.content_available = contentAvailable;
  if (ttl !== undefined) request.time_to_live = ttl;
  if (delayWhileIdle !== undefined) request.delay_while_idle = delayWhileIdle;
  if (receipt !== undefined) request.delivery_receipt_requested = receipt;
  if (dryRun !== undefined) request.dry_run = dryRun;
  if (condition !== undefined) request.condition = condition;

  if (!isWellFormedRegistrationToken(toValue) && !isTopicDestination(toValue)) {
    throw new Rejected({
      kind: "nack",
      code: NackCode.BAD_REGISTRATION,
      description: NACK_TEXTS.badRegistration(toValue),
    });
  }
  return request;
}

/**
 * Validate a downstream request, given as JSON text or as an already parsed value.
 * On success the request holds only the known fields, with `data` values as strings.
 */
export function validateDownstream(json: string | unknown): DownstreamValidation {
  let value: unknown = json;
  if (typeof json === "string") {
    try {
      value = JSON.parse(json);
    } catch {
      // The SyntaxError's own text is V8's, not CCS's: the answer is the composed CCS text.
      return stanzaError(NACK_TEXTS.malformedJson("Payload is not valid JSON"));
    }
  }
  if (!isJsonObject(value)) return stanzaError(NACK_TEXTS.malformedJson("Payload must be a JSON object"));
  const messageId = present(value, "message_id");
  if (messageId === undefined || messageId === "") {
    return stanzaError(NACK_TEXTS.missingRequiredField("message_id"));
  }
  if (typeof messageId !== "string") {
    return stanzaError(NACK_TEXTS.jsonTypeError("message_id", JsonJavaType.String, messageId));
  }
  try {
    return { ok: true, request: checkRequest(value, messageId) };
  } catch (err) {
    if (!(err instanceof Rejected)) throw err;
    const to = present(value, "to");
    return typeof to === "string"
      ? { ok: false, rejection: err.rejection, messageId, to }
      : { ok: false, rejection: err.rejection, messageId };
  }
}

function stanzaError(text: string): DownstreamValidation {
  return { ok: false, rejection: { kind: "stanza-error", error: badRequest(text) } };
}
