// The connection layer's view of the CCS wire: which stanza strings it writes and what an incoming
// <message> element means for it. Payload parsing and stanza writing come from @ccs/ccs-protocol.
import {
  CONTROL_CONNECTION_DRAINING,
  type DownstreamRequest,
  downstreamStanza,
  type Element,
  escapeXmlAttr,
  gcmPayloadOf,
  isCcsPayloadError,
  NS_PING,
  parseServerPayload,
  readServerMessage,
  type ServerMessage,
  type StanzaErrorMessage,
  upstreamAckStanza,
} from "@ccs/ccs-protocol";
import type { XmlElement } from "@xmpp/client";
import type { SendResult } from "./contract.ts";

export { NS_PING, NS_SESSION } from "@ccs/ccs-protocol";
export const CONNECTION_DRAINING = CONTROL_CONNECTION_DRAINING;

/** What an incoming <message> means to a connection. */
export type Incoming =
  | {
      readonly kind: "answer";
      readonly messageId: string;
      readonly result: SendResult;
      readonly draining: boolean;
    }
  | { readonly kind: "control"; readonly controlType: string }
  | {
      readonly kind: "upstream" | "receipt";
      readonly from: string;
      readonly messageId: string;
      readonly category: string;
      readonly payloadJson: string;
    }
  | { readonly kind: "ignored"; readonly why: string };

/** `<message id=message_id><gcm xmlns="google:mobile:data">JSON</gcm></message>`: the stanza id lets a
 * stanza error be matched even when the echoed JSON is unreadable. */
export function downstreamXml(request: DownstreamRequest): string {
  return downstreamStanza(request, request.message_id);
}

export function upstreamAckXml(to: string, messageId: string): string {
  return upstreamAckStanza(to, messageId);
}

export function pingXml(id: string, domain: string): string {
  return `<iq type="get" id="${escapeXmlAttr(id)}" to="${escapeXmlAttr(domain)}"><ping xmlns="${NS_PING}"/></iq>`;
}

export function pongXml(id: string, to: string | undefined): string {
  const toAttr = to === undefined ? "" : ` to="${escapeXmlAttr(to)}"`;
  return `<iq type="result" id="${escapeXmlAttr(id)}"${toAttr}/>`;
}

export function serviceUnavailableXml(id: string): string {
  return `<iq type="error" id="${escapeXmlAttr(id)}"><error type="cancel"><service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error></iq>`;
}

/** Classifies an incoming <message> element (xmpp.js's element; same ltx Element class as ccs-protocol's). */
export function classifyMessage(el: XmlElement): Incoming {
  try {
    const msg = readServerMessage(el as unknown as Element);
    return incomingOf(msg, () => gcmPayloadOf(el as unknown as Element) ?? "");
  } catch (err) {
    if (isCcsPayloadError(err)) return { kind: "ignored", why: `bad payload: ${err.message}` };
    throw err;
  }
}

/** Classifies the JSON of a plain `<gcm>` message (the splitter's fast path). */
export function classifyGcmJson(json: string): Incoming {
  try {
    return incomingOf(parseServerPayload(json), () => json);
  } catch (err) {
    if (isCcsPayloadError(err)) return { kind: "ignored", why: `bad payload: ${err.message}` };
    throw err;
  }
}

function incomingOf(
  msg: ServerMessage | StanzaErrorMessage | undefined,
  payloadJson: () => string,
): Incoming {
  if (msg === undefined) return { kind: "ignored", why: "message without a gcm payload" };
  switch (msg.kind) {
    case "ack": {
      const result: SendResult =
        msg.registrationId === undefined
          ? { kind: "ack" }
          : { kind: "ack", canonicalRegistrationId: msg.registrationId };
      return { kind: "answer", messageId: msg.messageId, result, draining: false };
    }
    case "nack": {
      // `code` is normalized (unknown codes → INTERNAL_SERVER_ERROR); the raw `error` survives in description.
      const description = msg.description ?? (msg.error !== msg.code ? msg.error : undefined);
      const result: SendResult =
        description === undefined
          ? { kind: "nack", code: msg.code }
          : { kind: "nack", code: msg.code, description };
      return { kind: "answer", messageId: msg.messageId, result, draining: msg.code === CONNECTION_DRAINING };
    }
    case "stanza-error": {
      const messageId = msg.messageId ?? msg.stanzaId;
      if (messageId === undefined) return { kind: "ignored", why: "stanza error without a message id" };
      return {
        kind: "answer",
        messageId,
        result: { kind: "stanza-error", error: msg.error },
        draining: false,
      };
    }
    case "control":
      return { kind: "control", controlType: msg.controlType };
    case "upstream":
    case "receipt":
      return {
        kind: msg.kind,
        from: msg.from,
        messageId: msg.messageId,
        category: msg.category,
        payloadJson: payloadJson(),
      };
    case "unknown":
      return { kind: "ignored", why: `unknown message_type ${msg.messageType}` };
  }
}
