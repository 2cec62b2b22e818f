/** Server -> client payloads: JSON text of a `<gcm>` element -> typed ServerMessage. */
import { PayloadJsonError, PayloadShapeError } from "./errors.ts";
import { isJsonObject, isStringRecord, type JsonObject, stringField } from "./json-object.ts";
import type {
  AckPayload,
  ControlPayload,
  NackPayload,
  ReceiptData,
  ReceiptPayload,
  ServerMessage,
  UpstreamPayload,
} from "./messages.ts";
import { NACK_CODES, normalizeNackCode } from "./nack-codes.ts";

/** JSON.parse to an object, or a typed error. */
export function parseJsonObject(json: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (cause) {
    throw PayloadJsonError.fromSyntaxError(json, cause);
  }
  if (!isJsonObject(value)) throw new PayloadShapeError("", "a JSON object", json);
  return value;
}

function requireString(obj: JsonObject, key: string, json: string): string {
  const v = stringField(obj, key);
  if (v === undefined) throw new PayloadShapeError(key, "a string", json);
  return v;
}

function optionalString(obj: JsonObject, key: string, json: string): string | undefined {
  if (!Object.hasOwn(obj, key) || obj[key] === undefined) return undefined;
  return requireString(obj, key, json);
}

function optionalNumber(obj: JsonObject, key: string, json: string): number | undefined {
  if (!Object.hasOwn(obj, key)) return undefined;
  const v = obj[key];
  if (typeof v !== "number") throw new PayloadShapeError(key, "a number", json);
  return v;
}

/**
 * Classify and check a payload CCS sent. Throws PayloadJsonError (not JSON) or
 * PayloadShapeError (a known kind missing a field it needs, or a non-string `message_type`).
 * Unknown `message_type` values give `{ kind: "unknown" }` (they "can be ignored", 000).
 */
export function parseServerPayload(json: string): ServerMessage {
  const obj = parseJsonObject(json);
  return serverMessageOf(obj, json);
}

export function serverMessageOf(obj: JsonObject, json: string): ServerMessage {
  if (!Object.hasOwn(obj, "message_type")) {
    const from = requireString(obj, "from", json);
    const category = requireString(obj, "category", json);
    const messageId = requireString(obj, "message_id", json);
    const data = Object.hasOwn(obj, "data") ? obj.data : {};
    if (!isStringRecord(data)) throw new PayloadShapeError("data", "an object of strings", json);
    const timeToLive = optionalNumber(obj, "time_to_live", json);
    const payload: UpstreamPayload = { from, category, message_id: messageId, data };
    if (timeToLive !== undefined) payload.time_to_live = timeToLive;
    const msg: ServerMessage = { kind: "upstream", messageId, from, category, data, payload };
    if (timeToLive !== undefined) msg.timeToLive = timeToLive;
    return msg;
  }
  const messageType = requireString(obj, "message_type", json);
  switch (messageType) {
    case "ack": {
      const messageId = requireString(obj, "message_id", json);
      const from = requireString(obj, "from", json);
      const registrationId = optionalString(obj, "registration_id", json);
      const payload: AckPayload = { message_type: "ack", from, message_id: messageId };
      if (registrationId !== undefined) payload.registration_id = registrationId;
      const msg: ServerMessage = { kind: "ack", messageId, from, payload };
      if (registrationId !== undefined) msg.registrationId = registrationId;
      return msg;
    }
    case "nack": {
      const messageId = requireString(obj, "message_id", json);
      const error = requireString(obj, "error", json);
      const from = optionalString(obj, "from", json);
      const description = optionalString(obj, "error_description", json);
      const code = normalizeNackCode(error);
      const payload: NackPayload = { message_type: "nack", message_id: messageId, error };
      if (from !== undefined) payload.from = from;
      if (description !== undefined) payload.error_description = description;
      const msg: ServerMessage = {
        kind: "nack",
        messageId,
        error,
        code,
        retry: NACK_CODES[code].retry,
        payload,
      };
      if (from !== undefined) msg.from = from;
      if (description !== undefined) msg.description = description;
      return msg;
    }
    case "receipt": {
      const messageId = requireString(obj, "message_id", json);
      const from = requireString(obj, "from", json);
      const category = requireString(obj, "category", json);
      const data = obj.data;
      if (!isStringRecord(data)) throw new PayloadShapeError("data", "an object of strings", json);
      const messageStatus = requireString(data, "message_status", json);
      const originalMessageId = requireString(data, "original_message_id", json);
      const deviceRegistrationId = stringField(data, "device_registration_id");
      const timeToLive = optionalNumber(obj, "time_to_live", json);
      const receiptData: ReceiptData = {
        ...data,
        message_status: messageStatus,
        original_message_id: originalMessageId,
      };
      const payload: ReceiptPayload = {
        message_type: "receipt",
        from,
        message_id: messageId,
        category,
        data: receiptData,
      };
      if (timeToLive !== undefined) payload.time_to_live = timeToLive;
      const msg: ServerMessage = {
        kind: "receipt",
        messageId,
        from,
        category,
        originalMessageId,
        messageStatus,
        payload,
      };
      if (deviceRegistrationId !== undefined) msg.deviceRegistrationId = deviceRegistrationId;
      return msg;
    }
    case "control": {
      const controlType = requireString(obj, "control_type", json);
      const payload: ControlPayload = { message_type: "control", control_type: controlType };
      return { kind: "control", controlType, payload };
    }
    default:
      return { kind: "unknown", messageType, payload: obj };
  }
}
