/**
 * XML escaping for the writers. Characters XML 1.0 cannot carry at all (C0 controls other than
 * tab/LF/CR, lone surrogates, U+FFFE, U+FFFF) are refused with InvalidXmlCharError rather than
 * written into a stream the peer would have to close. JSON.stringify output never contains C0 controls
 * or lone surrogates (it escapes them), only possibly U+FFFE/U+FFFF: `escapeStringifiedJson` relies on that.
 */
import { InvalidXmlCharError } from "./errors.ts";

// One scan decides the common case: nothing to escape, nothing to refuse.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const TEXT_SPECIAL = /[&<>\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const ATTR_SPECIAL = /[&<>"'\u0000-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it looks for
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;
// The control-character ranges make a class several times slower to scan: JSON.stringify output needs only this.
const STRINGIFIED_SPECIAL = /[&<>\uFFFE\uFFFF]/;
const TEXT_REPLACE = /[&<>]/g;
const ATTR_REPLACE = /[&<>"'\t\n\r]/g;

const ENTITY: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  "\t": "&#9;",
  "\n": "&#10;",
  "\r": "&#13;",
};

function entityOf(ch: string): string {
  return ENTITY[ch] ?? ch;
}

function assertXmlChars(s: string): void {
  const m = FORBIDDEN.exec(s);
  if (m !== null) throw new InvalidXmlCharError(m.index);
  if (!s.isWellFormed()) {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          i++;
          continue;
        }
        throw new InvalidXmlCharError(i);
      }
      if (c >= 0xdc00 && c <= 0xdfff) throw new InvalidXmlCharError(i);
    }
  }
}

/** Escape character data: `&`, `<`, `>` (so `]]>` can't appear). */
export function escapeXmlText(s: string): string {
  if (!TEXT_SPECIAL.test(s)) return s;
  assertXmlChars(s);
  return s.replace(TEXT_REPLACE, entityOf);
}

/** Escape an attribute value (either quote style); tab/LF/CR as character references so they survive normalization. */
export function escapeXmlAttr(s: string): string {
  if (!ATTR_SPECIAL.test(s)) return s;
  assertXmlChars(s);
  return s.replace(ATTR_REPLACE, entityOf);
}

/**
 * escapeXmlText for text that JSON.stringify produced (so no C0 controls or lone surrogates):
 * the same result, with a cheaper scan for the common nothing-to-do case.
 */
export function escapeStringifiedJson(json: string): string {
  return STRINGIFIED_SPECIAL.test(json) ? escapeXmlText(json) : json;
}
