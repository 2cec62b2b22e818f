/** Stanza writers for both sides of the wire. Each returns one complete stanza as a string. */
import {
  CCS_DOMAIN,
  CONTROL_CONNECTION_DRAINING,
  GCM_NAMESPACE,
  MESSAGE_SENT_TO_DEVICE,
  NS_CLIENT,
  NS_STANZAS,
  NS_STREAM,
  RECEIPT_MESSAGE_ID_PREFIX,
} from "./constants.ts";
import { InvalidOptionError } from "./errors.ts";
import { escapeStringifiedJson, escapeXmlAttr, escapeXmlText } from "./escape.ts";
import type {
  AckPayload,
  ControlPayload,
  DownstreamRequest,
  NackPayload,
  ReceiptPayload,
  StanzaErrorInfo,
  UpstreamAckPayload,
  UpstreamPayload,
} from "./messages.ts";

export interface StanzaAttrs {
  id?: string;
  to?: string;
  from?: string;
  type?: string;
  /** Write the payload element in the prefixed form `<data:gcm xmlns:data="google:mobile:data">` (seen from CCS). */
  prefixed?: boolean;
}

function attrsOf(attrs: StanzaAttrs | undefined): string {
  if (attrs === undefined) return "";
  let out = "";
  if (attrs.id !== undefined) out += ` id="${escapeXmlAttr(attrs.id)}"`;
  if (attrs.to !== undefined) out += ` to="${escapeXmlAttr(attrs.to)}"`;
  if (attrs.from !== undefined) out += ` from="${escapeXmlAttr(attrs.from)}"`;
  if (attrs.type !== undefined) out += ` type="${escapeXmlAttr(attrs.type)}"`;
  return out;
}

const GCM_OPEN = `<gcm xmlns="${GCM_NAMESPACE}">`;
const GCM_CLOSE = "</gcm>";
const GCM_OPEN_PREFIXED = `<data:gcm xmlns:data="${GCM_NAMESPACE}">`;
const GCM_CLOSE_PREFIXED = "</data:gcm>";

/** `escapedText` is already XML-escaped. */
function gcmElement(escapedText: string, prefixed: boolean | undefined): string {
  return prefixed === true
    ? `${GCM_OPEN_PREFIXED}${escapedText}${GCM_CLOSE_PREFIXED}`
    : `${GCM_OPEN}${escapedText}${GCM_CLOSE}`;
}

/**
 * `<message ...><gcm xmlns="google:mobile:data">escaped JSON</gcm></message>`.
 * A string is taken as JSON text as is (not re-validated); an object is JSON.stringify'd.
 */
export function gcmMessageStanza(json: object | string, attrs?: StanzaAttrs): string {
  const escaped =
    typeof json === "string" ? escapeXmlText(json) : escapeStringifiedJson(JSON.stringify(json));
  if (attrs === undefined) return `<message>${GCM_OPEN}${escaped}${GCM_CLOSE}</message>`;
  return `<message${attrsOf(attrs)}>${gcmElement(escaped, attrs.prefixed)}</message>`;
}

// ---- client (app server) -> CCS ----

export function downstreamStanza(req: DownstreamRequest, id?: string): string {
  return gcmMessageStanza(req, id === undefined ? undefined : { id });
}

/** ACK of an upstream message or a receipt (use the receipt's `dr2:` id). */
export function upstreamAckStanza(to: string, messageId: string, id?: string): string {
  const payload: UpstreamAckPayload = { to, message_id: messageId, message_type: "ack" };
  return gcmMessageStanza(payload, id === undefined ? undefined : { id });
}

// ---- CCS -> client (for the emulator) ----

export function ackStanza(
  from: string,
  messageId: string,
  registrationId?: string,
  attrs?: StanzaAttrs,
): string {
  const payload: AckPayload = { message_type: "ack", from, message_id: messageId };
  if (registrationId !== undefined) payload.registration_id = registrationId;
  return gcmMessageStanza(payload, attrs);
}

export function nackStanza(
  from: string | undefined,
  messageId: string,
  code: string,
  description?: string,
  attrs?: StanzaAttrs,
): string {
  const payload: NackPayload = { message_type: "nack", message_id: messageId, error: code };
  if (from !== undefined) payload.from = from;
  if (description !== undefined) payload.error_description = description;
  return gcmMessageStanza(payload, attrs);
}

export interface ReceiptFields {
  originalMessageId: string;
  deviceRegistrationId: string;
  category: string;
  /** Default `"dr2:" + originalMessageId`. */
  messageId?: string;
  /** Default `"gcm.googleapis.com"`. */
  from?: string;
  /** Default MESSAGE_SENT_TO_DEVICE. */
  messageStatus?: string;
  /** Milliseconds since the epoch, as a string (seen in captures). */
  messageSentTimestamp?: string;
  /** A capture shows `time_to_live: 0`. */
  timeToLive?: number;
}

export function receiptPayload(fields: ReceiptFields): ReceiptPayload {
  const payload: ReceiptPayload = {
    message_type: "receipt",
    from: fields.from ?? CCS_DOMAIN,
    message_id: fields.messageId ?? `${RECEIPT_MESSAGE_ID_PREFIX}${fields.originalMessageId}`,
    category: fields.category,
    data: {
      message_status: fields.messageStatus ?? MESSAGE_SENT_TO_DEVICE,
      original_message_id: fields.originalMessageId,
      device_registration_id: fields.deviceRegistrationId,
    },
  };
  if (fields.messageSentTimestamp !== undefined)
    payload.data.message_sent_timestamp = fields.messageSentTimestamp;
  if (fields.timeToLive !== undefined) payload.time_to_live = fields.timeToLive;
  return payload;
}

export function receiptStanza(fields: ReceiptFields, attrs?: StanzaAttrs): string {
  return gcmMessageStanza(receiptPayload(fields), attrs);
}

/** Control message; CONNECTION_DRAINING is the only documented type. */
export function controlStanza(
  controlType: string = CONTROL_CONNECTION_DRAINING,
  attrs?: StanzaAttrs,
): string {
  const payload: ControlPayload = { message_type: "control", control_type: controlType };
  return gcmMessageStanza(payload, attrs);
}

export interface UpstreamFields {
  from: string;
  category: string;
  messageId: string;
  data: Record<string, string>;
  timeToLive?: number;
}

export function upstreamStanza(fields: UpstreamFields, attrs?: StanzaAttrs): string {
  const payload: UpstreamPayload = {
    category: fields.category,
    data: fields.data,
    message_id: fields.messageId,
    from: fields.from,
  };
  if (fields.timeToLive !== undefined) payload.time_to_live = fields.timeToLive;
  return gcmMessageStanza(payload, attrs);
}

const CONDITION_RE = /^[a-z][a-z-]{0,63}$/;

/**
 * `<message type="error">` echoing the offending JSON, as CCS sends for a malformed message:
 * `<error code="400" type="modify"><bad-request xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/><text ...>...</text></error>`.
 * `type` is forced to "error".
 */
export function stanzaErrorStanza(attrs: StanzaAttrs, jsonText: string, error: StanzaErrorInfo): string {
  if (!CONDITION_RE.test(error.condition)) {
    throw new InvalidOptionError(
      "error.condition",
      "must be an XMPP defined condition name like bad-request",
    );
  }
  const text =
    error.text === undefined ? "" : `<text xmlns="${NS_STANZAS}">${escapeXmlText(error.text)}</text>`;
  const errorEl =
    `<error code="${escapeXmlAttr(error.code)}" type="${escapeXmlAttr(error.type)}">` +
    `<${error.condition} xmlns="${NS_STANZAS}"/>${text}</error>`;
  return `<message${attrsOf({ ...attrs, type: "error" })}>${gcmElement(escapeXmlText(jsonText), attrs.prefixed)}${errorEl}</message>`;
}

// ---- stream framing ----

export interface StreamHeaderAttrs {
  to?: string;
  from?: string;
  id?: string;
  version?: string;
}

/** `<stream:stream ... xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">` (open, not self-closed). */
export function streamHeader(attrs: StreamHeaderAttrs = {}): string {
  let out = "<?xml version='1.0'?><stream:stream";
  if (attrs.to !== undefined) out += ` to="${escapeXmlAttr(attrs.to)}"`;
  if (attrs.from !== undefined) out += ` from="${escapeXmlAttr(attrs.from)}"`;
  if (attrs.id !== undefined) out += ` id="${escapeXmlAttr(attrs.id)}"`;
  out += ` version="${escapeXmlAttr(attrs.version ?? "1.0")}" xmlns="${NS_CLIENT}" xmlns:stream="${NS_STREAM}">`;
  return out;
}

export const STREAM_END = "</stream:stream>";
/** The single-space whitespace keepalive CCS sends. */
export const WHITESPACE_KEEPALIVE = " ";
