// The one rule for sender ids: they become parts of NATS subjects and Redis keys, so letters, digits,
// `_` and `-` only, at most 128 characters (CCS sender ids are 12-digit project numbers).

export const SENDER_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export function isValidSenderId(senderId: string): boolean {
  return SENDER_ID_PATTERN.test(senderId);
}
