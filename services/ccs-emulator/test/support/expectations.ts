/**
 * Shape checks shared by the conformance files, each tied to the document it comes from.
 */
import { expect } from "vitest";
import type { GcmMessage, StanzaItem } from "./raw-xmpp-client.ts";
import { child, NS } from "./xml.ts";

/** ACK (000 "ACK message", CONTRACT): exactly from/message_id/message_type (+ registration_id when canonical). */
export function expectAck(msg: GcmMessage, to: string, messageId: string, registrationId?: string): void {
  expect(msg.el.local).toBe("message");
  expect(msg.el.attrs.type).not.toBe("error");
  expect(msg.gcm.ns).toBe(NS.gcm);
  const expected: Record<string, unknown> = { from: to, message_id: messageId, message_type: "ack" };
  if (registrationId !== undefined) expected.registration_id = registrationId;
  expect(msg.json).toEqual(expected);
}

/**
 * NACK (000/001 "NACK message", CONTRACT): exactly message_type/message_id/from/error/error_description.
 * `description` is compared after trimming (004 shows texts ending in a newline); a RegExp is matched.
 */
export function expectNack(
  msg: GcmMessage,
  to: string,
  messageId: string,
  code: string,
  description?: string | RegExp,
): void {
  expect(msg.el.local).toBe("message");
  expect(msg.gcm.ns).toBe(NS.gcm);
  expect(Object.keys(msg.json).sort()).toEqual([
    "error",
    "error_description",
    "from",
    "message_id",
    "message_type",
  ]);
  expect(msg.json.message_type).toBe("nack");
  expect(msg.json.message_id).toBe(messageId);
  expect(msg.json.from).toBe(to);
  expect(msg.json.error).toBe(code);
  const text = msg.json.error_description;
  expect(typeof text).toBe("string");
  if (typeof description === "string") expect(String(text).trim()).toBe(description);
  else if (description !== undefined) expect(String(text)).toMatch(description);
}

/** Text of a stanza error without surrounding whitespace and a trailing literal or real `\n` (000 shows one). */
export function stanzaErrorText(raw: string): string {
  return raw.trim().replace(/\\n$/, "").trim();
}

/**
 * Stanza error as in 000 "Stanza error": `<message id=ID type="error" to=JID>` echoing the gcm payload,
 * `<error code="400" type="modify"><bad-request xmlns=stanzas/><text xmlns=stanzas>TEXT</text></error>`.
 */
export function expectStanzaError(
  item: StanzaItem,
  options: { stanzaId: string; jid: string | undefined; payload: unknown; text?: string | RegExp },
): void {
  const el = item.el;
  expect(el.local).toBe("message");
  expect(el.ns).toBe(NS.client);
  expect(el.attrs.id).toBe(options.stanzaId);
  expect(el.attrs.type).toBe("error");
  expect(el.attrs.to).toBe(options.jid);
  const gcm = child(el, "gcm", NS.gcm);
  expect(gcm, "the original gcm payload is echoed").toBeDefined();
  expect(JSON.parse(gcm?.text ?? "null")).toEqual(options.payload);
  const error = child(el, "error");
  expect(error, "an <error> child").toBeDefined();
  expect(error?.attrs.code).toBe("400");
  expect(error?.attrs.type).toBe("modify");
  expect(error?.children.map((c) => [c.local, c.ns])).toEqual([
    ["bad-request", NS.stanzas],
    ["text", NS.stanzas],
  ]);
  const text = stanzaErrorText(error?.children[1]?.text ?? "");
  if (typeof options.text === "string") expect(text).toBe(options.text);
  else if (options.text !== undefined) expect(text).toMatch(options.text);
}
