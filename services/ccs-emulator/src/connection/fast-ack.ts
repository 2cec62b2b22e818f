import { ackStanza } from "@ccs/ccs-protocol";

/**
 * Characters that need no escaping in JSON strings nor in XML text: ids and registration tokens are
 * made of these almost always. Anything else goes through @ccs/ccs-protocol's `ackStanza`.
 * Printable ASCII except `"` (0x22), `&` (0x26), `<` (0x3c), `>` (0x3e), `\` (0x5c); V8's compiled
 * regex checks a 50-character token about twice as fast as a charCodeAt loop (measured: Node 24).
 */
const PLAIN = /^[\x20\x21\x23-\x25\x27-\x3b\x3d\x3f-\x5b\x5d-\x7e]*$/;

function isPlain(s: string): boolean {
  return PLAIN.test(s);
}

const HEAD = '<message><gcm xmlns="google:mobile:data">{"from":"';

/**
 * The ACK of a downstream message, byte-identical in meaning to `ackStanza(from, messageId, registrationId)`
 * (same JSON fields; the reference's field order), built by concatenation on the hot path.
 * TODO(ccs-protocol): an allocation-free ackStanza in the library would make this file unnecessary.
 */
export function fastAckStanza(from: string, messageId: string, registrationId: string | undefined): string {
  if (!isPlain(from) || !isPlain(messageId) || (registrationId !== undefined && !isPlain(registrationId))) {
    return ackStanza(from, messageId, registrationId);
  }
  const reg = registrationId === undefined ? "" : `,"registration_id":"${registrationId}"`;
  return `${HEAD}${from}","message_id":"${messageId}","message_type":"ack"${reg}}</gcm></message>`;
}
