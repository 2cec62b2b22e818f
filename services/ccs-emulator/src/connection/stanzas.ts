/**
 * The fixed server-side XML of a CCS session (stream header, features, SASL and bind answers, stream
 * errors), exactly as the reference documents and CONTRACT.md show it.
 */
import {
  CCS_DOMAIN,
  escapeXmlAttr,
  escapeXmlText,
  NS_BIND,
  NS_SASL,
  NS_SESSION,
  NS_STANZAS,
  NS_STREAMS_ERRORS,
} from "@ccs/ccs-protocol";

export { NS_BIND, NS_CLIENT, NS_PING, NS_SASL, NS_SESSION, NS_STREAM } from "@ccs/ccs-protocol";
export const NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls";

export function streamHeader(streamId: string): string {
  return `<stream:stream from="${CCS_DOMAIN}" id="${escapeXmlAttr(streamId)}" version="1.0" xmlns:stream="http://etherx.jabber.org/streams" xmlns="jabber:client">`;
}

/** Features before authentication, as the reference shows them (000). */
export const SASL_FEATURES =
  '<str:features xmlns:str="http://etherx.jabber.org/streams"><mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>X-OAUTH2</mechanism><mechanism>X-GOOGLE-TOKEN</mechanism><mechanism>PLAIN</mechanism></mechanisms></str:features>';

/** Features after the post-authentication stream restart. */
export const BIND_FEATURES = `<stream:features><bind xmlns="${NS_BIND}"/><session xmlns="${NS_SESSION}"/></stream:features>`;

export const SASL_SUCCESS = `<success xmlns="${NS_SASL}"/>`;
export const SASL_FAILURE_AND_CLOSE = `<failure xmlns="${NS_SASL}"><not-authorized/></failure></stream:stream>`;
export const STARTTLS_FAILURE_AND_CLOSE = `<failure xmlns="${NS_TLS}"/></stream:stream>`;
export const STREAM_CLOSE = "</stream:stream>";
export const KEEPALIVE = " ";

/** Stream error conditions as data (RFC 6120 §4.9.3). */
export const StreamErrorCondition = {
  NotAuthorized: "not-authorized",
  NotWellFormed: "not-well-formed",
  PolicyViolation: "policy-violation",
  RestrictedXml: "restricted-xml",
  InvalidNamespace: "invalid-namespace",
  UnsupportedEncoding: "unsupported-encoding",
  ConnectionTimeout: "connection-timeout",
  SystemShutdown: "system-shutdown",
  InternalServerError: "internal-server-error",
  UnsupportedStanzaType: "unsupported-stanza-type",
} as const;
export type StreamErrorCondition = (typeof StreamErrorCondition)[keyof typeof StreamErrorCondition];

export function streamErrorAndClose(condition: StreamErrorCondition): string {
  return `<stream:error><${condition} xmlns="${NS_STREAMS_ERRORS}"/></stream:error></stream:stream>`;
}

export function bindResult(id: string, jid: string): string {
  return `<iq id="${escapeXmlAttr(id)}" type="result"><bind xmlns="${NS_BIND}"><jid>${escapeXmlText(jid)}</jid></bind></iq>`;
}

/** Empty result (session, ping); echoes `to` back as `from` when the client addressed one. */
export function iqResult(id: string, to: string | undefined): string {
  const from = to === undefined ? "" : ` from="${escapeXmlAttr(to)}"`;
  return `<iq id="${escapeXmlAttr(id)}" type="result"${from}/>`;
}

/** An iq the server does not handle: `<service-unavailable/>` (RFC 6120 §8.4). */
export function iqServiceUnavailable(id: string): string {
  return `<iq id="${escapeXmlAttr(id)}" type="error"><error type="cancel"><service-unavailable xmlns="${NS_STANZAS}"/></error></iq>`;
}
