import { inspect } from "node:util";

/** What every leak-prone rendering of a secret prints instead of the value. */
export const REDACTED = "[REDACTED]";

/**
 * Holds a secret (API key, password) so it cannot leak by accident: string conversion, template
 * strings, JSON, `util.inspect`/`console.log` and structured logging all render {@link REDACTED}.
 * Only `reveal()` returns the value; call it at the one place that sends it (e.g. SASL auth).
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The secret value. Never log or interpolate it. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/**
 * Replaces every occurrence of each known secret value in `text` with {@link REDACTED}; for free text
 * such as error messages from a server or library. Longer secrets are replaced first so a secret that
 * contains another is scrubbed whole. Empty values are ignored.
 */
export function redactText(text: string, secrets: Iterable<string | Secret>): string {
  const values = [...new Set([...secrets].map((s) => (s instanceof Secret ? s.reveal() : s)))]
    .filter((v) => v.length > 0)
    .sort((a, b) => b.length - a.length);
  let result = text;
  for (const value of values) {
    result = result.split(value).join(REDACTED);
  }
  return result;
}

/**
 * A URL safe to show in logs and error messages: its password (or, in the token form `scheme://TOKEN@host`,
 * its user name) is replaced by "REDACTED". Text that does not parse as a URL is not echoed at all.
 */
export function redactUrlCredentials(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "(unparseable URL)";
  }
  // Plain letters: the brackets of REDACTED would be percent-encoded inside a URL.
  if (parsed.password !== "") parsed.password = "REDACTED";
  else if (parsed.username !== "") parsed.username = "REDACTED";
  else return url;
  return parsed.toString();
}
