/** Reading CCS content out of parsed stanzas (namespace-aware; entities already decoded by the parser). */
import { GCM_ELEMENT, GCM_NAMESPACE, NS_STANZAS } from "./constants.ts";
import { stringField } from "./json-object.ts";
import type { ClientMessage, ServerMessage, StanzaErrorInfo, StanzaErrorMessage } from "./messages.ts";
import { parseClientPayload } from "./parse-client.ts";
import { parseJsonObject, serverMessageOf } from "./parse-server.ts";
import type { Element } from "./xml.ts";

const GCM_PREFIXED = `data:${GCM_ELEMENT}`;
const GCM_PREFIXED_XMLNS = "xmlns:data";

function isGcmElement(el: Element): boolean {
  // The two forms on the wire, answered from the element's own attributes (a non-empty
  // declaration on the element itself is what namespace resolution finds first)...
  const name = el.name;
  if (name === GCM_ELEMENT && el.attrs.xmlns === GCM_NAMESPACE) return true;
  if (name === GCM_PREFIXED && el.attrs[GCM_PREFIXED_XMLNS] === GCM_NAMESPACE) return true;
  // ...anything else by full resolution (inherited or other prefixes).
  return el.getName() === GCM_ELEMENT && el.getNS() === GCM_NAMESPACE;
}

function gcmChildOf(el: Element): Element | undefined {
  const children = el.children;
  for (let i = 0; i < children.length; i++) {
    const child = children[i];
    if (typeof child === "object" && child !== null && isGcmElement(child)) return child;
  }
  return undefined;
}

/**
 * JSON text of the `<gcm xmlns="google:mobile:data">` child (also the prefixed
 * `<data:gcm xmlns:data="google:mobile:data">` form), or undefined when there is none.
 */
export function gcmPayloadOf(el: Element): string | undefined {
  const gcm = gcmChildOf(el);
  if (gcm === undefined) return undefined;
  const children = gcm.children;
  const only = children.length === 1 ? children[0] : undefined;
  return typeof only === "string" ? only : gcm.getText();
}

/** The `<error>` of a stanza: legacy code, type, defined condition and text (trimmed). */
export function stanzaErrorOf(el: Element): StanzaErrorInfo | undefined {
  let errorEl: Element | undefined;
  for (const child of el.children) {
    if (typeof child !== "string" && child.getName() === "error") {
      errorEl = child;
      break;
    }
  }
  if (errorEl === undefined) return undefined;
  let condition = "undefined-condition";
  let text: string | undefined;
  for (const child of errorEl.children) {
    if (typeof child === "string" || child.getNS() !== NS_STANZAS) continue;
    if (child.getName() === "text") text = child.getText().trim();
    else condition = child.getName();
  }
  const info: StanzaErrorInfo = {
    code: errorEl.attrs.code ?? "",
    type: errorEl.attrs.type ?? "",
    condition,
  };
  if (text !== undefined) info.text = text;
  return info;
}

export function isMessageStanza(el: Element): boolean {
  return el.getName() === "message";
}

function stanzaErrorMessageOf(el: Element): StanzaErrorMessage {
  const msg: StanzaErrorMessage = {
    kind: "stanza-error",
    error: stanzaErrorOf(el) ?? { code: "", type: "", condition: "undefined-condition" },
  };
  const id = el.attrs.id;
  if (id !== undefined) msg.stanzaId = id;
  const json = gcmPayloadOf(el);
  if (json !== undefined) {
    msg.payloadJson = json;
    const messageId = echoedMessageId(json);
    if (messageId !== undefined) msg.messageId = messageId;
  }
  return msg;
}

function echoedMessageId(json: string): string | undefined {
  try {
    return stringField(parseJsonObject(json), "message_id");
  } catch {
    // The echoed payload is whatever the sender sent, often the malformed JSON that caused the error.
    return undefined;
  }
}

/**
 * For the client side: a `<message>` from CCS as a typed message. Returns undefined for other
 * stanzas (iq, presence...) and for messages without a `<gcm>` payload; stanza errors
 * (`type="error"`) come back as `{ kind: "stanza-error" }`. Throws CcsPayloadError on a bad payload.
 */
export function readServerMessage(el: Element): ServerMessage | StanzaErrorMessage | undefined {
  if (!isMessageStanza(el)) return undefined;
  if (el.attrs.type === "error") return stanzaErrorMessageOf(el);
  const json = gcmPayloadOf(el);
  if (json === undefined) return undefined;
  return serverMessageOf(parseJsonObject(json), json);
}

/**
 * For the server side: a `<message>` from an app server, classified (downstream requests are
 * not validated: use `validateDownstream`). Undefined for other stanzas and messages without `<gcm>`.
 * Throws CcsPayloadError when the payload is not a JSON object.
 */
export function readClientMessage(el: Element): ClientMessage | undefined {
  if (!isMessageStanza(el)) return undefined;
  const json = gcmPayloadOf(el);
  if (json === undefined) return undefined;
  return parseClientPayload(json);
}
