/**
 * Our emulation choice for a well-formed registration token (the documents give none):
 * 8 to 4096 characters, each an URL-safe base64 character (`A-Z a-z 0-9 - _`) or `:`
 * (FCM tokens look like `<instance id>:APA91b...`). Anything else (empty, whitespace,
 * control characters, `/`, `+`, `=`...) is malformed and CCS answers BAD_REGISTRATION
 * `Invalid token on 'to' field: <to>`. A well-formed token may still be unknown or expired:
 * that is the registry's call (BAD_REGISTRATION or DEVICE_UNREGISTERED), not this rule's.
 * Shared by the emulator and the worker so both sides agree.
 */
export const REGISTRATION_TOKEN_MIN_LENGTH = 8;
export const REGISTRATION_TOKEN_MAX_LENGTH = 4096;
const TOKEN_RE = /^[A-Za-z0-9_:-]+$/;

export function isWellFormedRegistrationToken(token: string): boolean {
  return (
    token.length >= REGISTRATION_TOKEN_MIN_LENGTH &&
    token.length <= REGISTRATION_TOKEN_MAX_LENGTH &&
    TOKEN_RE.test(token)
  );
}

/** Topic destination as FCM accepts it in `to`: `/topics/` + 1..900 of `[a-zA-Z0-9-_.~%]`. */
export const TOPIC_PREFIX = "/topics/";
const TOPIC_RE = /^\/topics\/[a-zA-Z0-9\-_.~%]{1,900}$/;

export function isTopicDestination(to: string): boolean {
  return TOPIC_RE.test(to);
}
