/** Client -> server payloads: JSON text of a `<gcm>` element -> ClientMessage (classification only). */
import { PayloadShapeError } from "./errors.ts";
import { stringField } from "./json-object.ts";
import type { ClientMessage } from "./messages.ts";
import { parseJsonObject } from "./parse-server.ts";

/**
 * Classify a payload an app server sent. Throws PayloadJsonError / PayloadShapeError when it is
 * not a JSON object (CCS answers those with a stanza error: use `validateDownstream` for the exact one).
 * A downstream request is returned unvalidated.
 */
export function parseClientPayload(json: string): ClientMessage {
  const obj = parseJsonObject(json);
  if (!Object.hasOwn(obj, "message_type")) return { kind: "downstream", payload: obj };
  const messageType = obj.message_type;
  if (typeof messageType !== "string") throw new PayloadShapeError("message_type", "a string", json);
  if (messageType !== "ack") return { kind: "unknown", messageType, payload: obj };
  const to = stringField(obj, "to");
  const messageId = stringField(obj, "message_id");
  if (to === undefined || messageId === undefined || to === "" || messageId === "") {
    return messageId === undefined
      ? { kind: "bad-ack", payload: obj }
      : { kind: "bad-ack", messageId, payload: obj };
  }
  return { kind: "upstream-ack", to, messageId, payload: { to, message_id: messageId, message_type: "ack" } };
}
