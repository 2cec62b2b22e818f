// NATS subject and JetStream stream names shared by workers and coordinators. The subject prefix is
// configurable (default `ccs`); stream names derive from it (`ccs` → `CCS_DOWN`, `acme` → `ACME_DOWN`).

import { InvalidOptionError } from "./errors.ts";
import { isValidSenderId } from "./slots.ts";

export const DEFAULT_SUBJECT_PREFIX = "ccs";

export interface Subjects {
  readonly prefix: string;
  /** Downstream work from app servers: `ccs.down.<sender>`, stream CCS_DOWN (work-queue retention). */
  down(senderId: string): string;
  readonly downAll: string;
  readonly downStream: string;
  /** Downstream outcomes published by workers: `ccs.out.<sender>`, stream CCS_OUTCOMES. */
  out(senderId: string): string;
  readonly outAll: string;
  readonly outStream: string;
  /** Upstream messages and receipts made durable by workers: `ccs.internal.up.<sender>`, stream CCS_INTERNAL_UP (work queue). */
  internalUp(senderId: string): string;
  readonly internalUpAll: string;
  readonly internalUpStream: string;
  /** De-duplicated upstream messages: `ccs.up.<sender>.<category>`, stream CCS_UP. */
  up(senderId: string, category: string | undefined): string;
  readonly upAll: string;
  readonly upStream: string;
  /** De-duplicated delivery receipts: `ccs.receipt.<sender>`, stream CCS_RECEIPT. */
  receipt(senderId: string): string;
  readonly receiptAll: string;
  readonly receiptStream: string;
  /** Durable consumer name shared by every coordinator on the internal upstream stream (a consumer group). */
  readonly upstreamConsumer: string;
}

/** Category used in `ccs.up.<sender>.<category>` when a message has none. */
export const NO_CATEGORY = "_";

const PREFIX = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Turns an app category (an Android package name such as `com.example.app`) into subject tokens: dots
 * stay (so `ccs.up.<sender>.>` matches every category), characters NATS forbids or that would be
 * confusing (`*`, `>`, whitespace, ...) become `_`, and empty tokens become `_`.
 */
export function categoryToken(category: string | undefined): string {
  if (category === undefined || category.length === 0) {
    return NO_CATEGORY;
  }
  return category
    .split(".")
    .map((part) => (part.length === 0 ? "_" : part.replace(/[^A-Za-z0-9_-]/g, "_")))
    .join(".");
}

function checkSender(senderId: string): string {
  if (!isValidSenderId(senderId)) {
    throw new InvalidOptionError(`invalid sender id ${JSON.stringify(senderId)}`);
  }
  return senderId;
}

/** Stream names, each overridable (the worker configures its three streams by name too). */
export interface StreamNames {
  readonly down?: string;
  readonly out?: string;
  readonly internalUp?: string;
  readonly up?: string;
  readonly receipt?: string;
}

const STREAM_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Subjects under `prefix`; stream names default to `<PREFIX>_DOWN`, `<PREFIX>_OUTCOMES`,
 * `<PREFIX>_INTERNAL_UP`, `<PREFIX>_UP`, `<PREFIX>_RECEIPT` (the worker's defaults for the first three).
 */
export function createSubjects(prefix: string = DEFAULT_SUBJECT_PREFIX, streams: StreamNames = {}): Subjects {
  if (!PREFIX.test(prefix)) {
    throw new InvalidOptionError(`invalid subject prefix ${JSON.stringify(prefix)}`);
  }
  for (const [k, v] of Object.entries(streams)) {
    if (v !== undefined && !STREAM_NAME.test(v)) {
      throw new InvalidOptionError(`invalid ${k} stream name ${JSON.stringify(v)}`);
    }
  }
  const stream = `${prefix.replace(/[.-]/g, "_").toUpperCase()}_`;
  return {
    prefix,
    down: (s) => `${prefix}.down.${checkSender(s)}`,
    downAll: `${prefix}.down.*`,
    downStream: streams.down ?? `${stream}DOWN`,
    out: (s) => `${prefix}.out.${checkSender(s)}`,
    outAll: `${prefix}.out.*`,
    outStream: streams.out ?? `${stream}OUTCOMES`,
    internalUp: (s) => `${prefix}.internal.up.${checkSender(s)}`,
    internalUpAll: `${prefix}.internal.up.*`,
    internalUpStream: streams.internalUp ?? `${stream}INTERNAL_UP`,
    up: (s, category) => `${prefix}.up.${checkSender(s)}.${categoryToken(category)}`,
    upAll: `${prefix}.up.>`,
    upStream: streams.up ?? `${stream}UP`,
    receipt: (s) => `${prefix}.receipt.${checkSender(s)}`,
    receiptAll: `${prefix}.receipt.*`,
    receiptStream: streams.receipt ?? `${stream}RECEIPT`,
    upstreamConsumer: `${prefix.replace(/[.]/g, "_")}-coordinator-upstream`,
  };
}
