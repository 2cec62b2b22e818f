import { ackStanza } from "@ccs/ccs-protocol";

/**
 * Characters that need no escaping in JSON strings nor in XML text: ids and registration tokens are
 * made of these almost always. Anything else goes through @ccs/ccs-protocol's `ackStanza`.
 */
function isPlain(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Printable ASCII except `"` (0x22), `&` (0x26), `<` (0x3c), `>` (0x3e), `\` (0x5c).
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x26 || c === 0x3c || c === 0x3e || c === 0x5c)
      return false;
  }
  return true;
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
