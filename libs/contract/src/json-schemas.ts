// JSON Schemas (draft 2020-12) of the records app servers read, so that consumers (and producers of test
// data) in any language can validate them. The same documents are in schemas/*.schema.json
// (`node libs/contract/scripts/write-schemas.ts` writes them; a test keeps them equal to these).

import { z } from "zod";
import { sendersDocumentSchema } from "./senders-file.ts";

const DRAFT = "https://json-schema.org/draft/2020-12/schema";
const ID_BASE = "https://ccs-cluster.invalid/schemas";

const stringMap = { type: "object", additionalProperties: { type: "string" } } as const;

/** `ccs.out.<sender>` (stream `<PREFIX>_OUTCOMES`): exactly one per downstream message. */
export const OUTCOME_JSON_SCHEMA = {
  $schema: DRAFT,
  $id: `${ID_BASE}/outcome.schema.json`,
  title: "CCS cluster outcome (v1)",
  description:
    "Exactly one per downstream message, published by a worker to <prefix>.out.<senderId> with Nats-Msg-Id <senderId>:<message_id> and headers Ccs-Status, Ccs-Message-Id, Ccs-Code, Ccs-Token-Action, Ccs-Slot, Ccs-Fencing-Token.",
  type: "object",
  required: [
    "v",
    "message_id",
    "sender_id",
    "to",
    "status",
    "attempts",
    "retries",
    "deliveries",
    "published_at",
    "completed_at",
    "latency_ms",
    "worker_id",
  ],
  additionalProperties: false,
  properties: {
    v: { const: 1 },
    message_id: { type: "string", minLength: 1 },
    sender_id: { type: "string", pattern: "^[A-Za-z0-9_-]{1,128}$" },
    to: { type: ["string", "null"] },
    status: { enum: ["acked", "nacked", "rejected", "expired"] },
    code: {
      type: "string",
      description:
        "NACK code (CCS's) or worker code (STANZA_ERROR, PAYLOAD_TOO_LARGE, MAX_DELIVERIES_EXCEEDED, TTL_EXPIRED)",
    },
    description: { type: "string" },
    stanza_error: {
      type: "object",
      required: ["code", "type", "condition"],
      properties: {
        code: { type: "string" },
        type: { type: "string" },
        condition: { type: "string" },
        text: { type: "string" },
      },
    },
    rejected_by: { enum: ["worker", "ccs"] },
    canonical_registration_id: { type: "string" },
    token_action: { enum: ["remove", "replace"] },
    new_token: { type: "string" },
    attempts: { type: "integer", minimum: 0 },
    retries: { type: "integer", minimum: 0 },
    deliveries: { type: "integer", minimum: 1 },
    published_at: { type: "string", format: "date-time" },
    first_sent_at: { type: "string", format: "date-time" },
    completed_at: { type: "string", format: "date-time" },
    latency_ms: { type: "number", minimum: 0 },
    connection_id: { type: "string" },
    worker_id: { type: "string" },
    slot: { type: "string", pattern: "^[A-Za-z0-9_-]{1,128}:[0-9]+$" },
    fencing_token: { type: "integer", minimum: 1 },
  },
} as const;

/** `ccs.up.<sender>.<category>` (stream `<PREFIX>_UP`): CCS's upstream JSON, unchanged, once per message. */
export const UPSTREAM_MESSAGE_JSON_SCHEMA = {
  $schema: DRAFT,
  $id: `${ID_BASE}/upstream-message.schema.json`,
  title: "Upstream (device-to-server) message",
  description:
    "CCS's JSON as received, published once per (from, message_id) to <prefix>.up.<senderId>.<category> with headers Ccs-Kind: upstream, Ccs-Sender-Id, Ccs-From, Ccs-Message-Id, Ccs-Category, Ccs-Received-At, Ccs-Dedupe-Key.",
  type: "object",
  required: ["from", "message_id"],
  properties: {
    from: { type: "string", minLength: 1, description: "the device's registration token" },
    message_id: { type: "string", minLength: 1, description: "chosen by the device: unique per device only" },
    category: { type: "string" },
    data: stringMap,
    time_to_live: { type: "integer", minimum: 0 },
    message_type: { not: { enum: ["receipt", "ack", "nack", "control"] } },
  },
} as const;

/** `ccs.receipt.<sender>` (stream `<PREFIX>_RECEIPT`): a delivery receipt, once per downstream message. */
export const RECEIPT_JSON_SCHEMA = {
  $schema: DRAFT,
  $id: `${ID_BASE}/receipt.schema.json`,
  title: "Delivery receipt",
  description:
    "CCS's receipt JSON as received, published once per receipt to <prefix>.receipt.<senderId> with headers Ccs-Kind: receipt, Ccs-Sender-Id, Ccs-From, Ccs-Message-Id, Ccs-Received-At, Ccs-Dedupe-Key.",
  type: "object",
  required: ["message_type", "message_id", "from", "data"],
  properties: {
    message_type: { const: "receipt" },
    message_id: { type: "string", pattern: "^dr2:" },
    from: { const: "gcm.googleapis.com" },
    category: { type: "string" },
    time_to_live: { type: "integer", minimum: 0 },
    data: {
      type: "object",
      required: ["message_status", "original_message_id"],
      properties: {
        message_status: { type: "string" },
        original_message_id: { type: "string", minLength: 1 },
        device_registration_id: { type: "string" },
        message_sent_timestamp: { type: "string" },
      },
      additionalProperties: { type: "string" },
    },
  },
} as const;

/** File name → schema, as written to schemas/. */
export const JSON_SCHEMA_FILES: Readonly<Record<string, object>> = {
  "outcome.schema.json": OUTCOME_JSON_SCHEMA,
  "upstream-message.schema.json": UPSTREAM_MESSAGE_JSON_SCHEMA,
  "receipt.schema.json": RECEIPT_JSON_SCHEMA,
  // Generated from the zod schema; "exactly one of apiKey, apiKeyFile, apiKeyEnv" is checked by the loader.
  "senders-file.schema.json": z.toJSONSchema(sendersDocumentSchema, { io: "input" }),
};
