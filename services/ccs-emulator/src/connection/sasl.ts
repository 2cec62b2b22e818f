import { timingSafeEqual } from "node:crypto";
import { CCS_DOMAIN } from "@ccs/ccs-protocol";

/** Credentials from a SASL PLAIN message: `[authzid] \0 authcid \0 password`. */
export interface PlainCredentials {
  senderId: string;
  password: string;
}

const SUFFIX = `@${CCS_DOMAIN}`;

/** Decodes the base64 PLAIN response; accepts `ID@gcm.googleapis.com` or bare `ID`. null when malformed. */
export function decodePlain(base64: string): PlainCredentials | null {
  const text = base64.replace(/\s+/g, "");
  if (text === "" || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  const parts = Buffer.from(text, "base64").toString("utf8").split("\0");
  if (parts.length !== 3) return null;
  const [, authcid = "", password = ""] = parts;
  const senderId = authcid.endsWith(SUFFIX) ? authcid.slice(0, -SUFFIX.length) : authcid;
  if (senderId === "" || senderId.includes("@") || password === "") return null;
  return { senderId, password };
}

/** Constant-time check of an API key. */
export function keyMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected, "utf8");
  const b = Buffer.from(given, "utf8");
  return a.length === b.length && timingSafeEqual(a, b);
}
