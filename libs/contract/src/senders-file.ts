// The senders file, read by workers (API keys) and coordinators (slots to assign): one schema, so the
// same file or CCS_SENDERS value means the same thing to both.
//
//   { "senders": [ { "senderId": "123", "apiKeyEnv": "CCS_KEY_123", "connections": 2, "rate": 500 } ] }
//
// Exactly one of apiKey | apiKeyFile (relative paths resolve against the senders file) | apiKeyEnv.
// A bare array of entries is accepted too. Keys are resolved into Secrets by @ccs/config.

import { z } from "zod";
import { SENDER_ID_PATTERN } from "./sender-id.ts";

/**
 * Connections (slots) per sender when an entry does not say: two, so that a sender keeps sending while
 * one connection drains (CONNECTION_DRAINING) or reconnects.
 */
export const DEFAULT_CONNECTIONS_PER_SENDER = 2;
/** CCS allows up to 1000 connections per sender (reference 001). */
export const MAX_CONNECTIONS_PER_SENDER = 1_000;

export const senderIdSchema = z
  .string()
  .regex(SENDER_ID_PATTERN, "must be 1-128 letters, digits, '_' or '-'");

const KEY_SOURCES = ["apiKey", "apiKeyFile", "apiKeyEnv"] as const;

export const senderEntrySchema = z
  .strictObject({
    senderId: senderIdSchema,
    apiKey: z.string().min(1).optional(),
    apiKeyFile: z.string().min(1).optional(),
    apiKeyEnv: z.string().min(1).optional(),
    /** 0 keeps the sender configured without connections. */
    connections: z.int().min(0).max(MAX_CONNECTIONS_PER_SENDER).default(DEFAULT_CONNECTIONS_PER_SENDER),
    /** Downstream rate limit of the whole sender, messages per second. */
    rate: z.number().positive().optional(),
  })
  .check((ctx) => {
    const set = KEY_SOURCES.filter((k) => ctx.value[k] !== undefined);
    if (set.length !== 1) {
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: `set exactly one of apiKey, apiKeyFile, apiKeyEnv (got ${set.length === 0 ? "none" : set.join(", ")})`,
      });
    }
  });

export type SenderEntry = z.output<typeof senderEntrySchema>;

const entriesSchema = z.array(senderEntrySchema).check((ctx) => {
  const seen = new Set<string>();
  ctx.value.forEach((s, i) => {
    if (seen.has(s.senderId)) {
      ctx.issues.push({
        code: "custom",
        input: s.senderId,
        path: [i, "senderId"],
        message: `duplicate sender ${s.senderId}`,
      });
    }
    seen.add(s.senderId);
  });
});

/** `{ "senders": [...] }` or a bare array; the output is always the list of entries. */
/** The file's document form, `{ "senders": [...] }`; published as schemas/senders-file.schema.json. */
export const sendersDocumentSchema = z.strictObject({ senders: entriesSchema });

export const sendersFileSchema = z.preprocess(
  (value) => (Array.isArray(value) ? { senders: value } : value),
  sendersDocumentSchema.transform((d) => d.senders),
);
