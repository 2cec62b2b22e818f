// NATS subject, stream and consumer names shared by producers, workers, coordinators and consumers:
// defined here and nowhere else. The subject prefix is configurable (default `ccs`); stream names derive
// from it (`ccs` → `CCS_DOWN`, `acme` → `ACME_DOWN`) unless configured one by one.

import { DEFAULT_SUBJECT_PREFIX, DEFAULT_WORKER_CONSUMER_PREFIX } from "./defaults.ts";
import { ContractError } from "./errors.ts";
import { isValidSenderId } from "./sender-id.ts";

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
  /** Every category of one sender: `ccs.up.<sender>.>` (a subscriber's filter). */
  upOf(senderId: string): string;
  readonly upAll: string;
  readonly upStream: string;
  /** De-duplicated delivery receipts: `ccs.receipt.<sender>`, stream CCS_RECEIPT. */
  receipt(senderId: string): string;
  readonly receiptAll: string;
  readonly receiptStream: string;
  /** Durable consumer name shared by every coordinator on the internal upstream stream (a consumer group). */
  readonly upstreamConsumer: string;
  /**
   * Durable pull consumer of one sender on the down stream, shared by every connection of that sender in
   * every worker: `<namePrefix>-<sender>` (default prefix `ccs-worker`).
   */
  senderConsumer(senderId: string, namePrefix?: string): string;
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
    throw new ContractError(`invalid sender id ${JSON.stringify(senderId)}`);
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

/** The default name of each stream under `prefix`: `<PREFIX>_DOWN`, `<PREFIX>_OUTCOMES`, ... */
export function defaultStreamNames(prefix: string = DEFAULT_SUBJECT_PREFIX): Required<StreamNames> {
  const stream = `${prefix.replace(/[.-]/g, "_").toUpperCase()}_`;
  return {
    down: `${stream}DOWN`,
    out: `${stream}OUTCOMES`,
    internalUp: `${stream}INTERNAL_UP`,
    up: `${stream}UP`,
    receipt: `${stream}RECEIPT`,
  };
}

function definedOnly(streams: StreamNames): StreamNames {
  return Object.fromEntries(Object.entries(streams).filter(([, v]) => v !== undefined));
}

/**
 * Subjects under `prefix`; stream names default to `<PREFIX>_DOWN`, `<PREFIX>_OUTCOMES`,
 * `<PREFIX>_INTERNAL_UP`, `<PREFIX>_UP`, `<PREFIX>_RECEIPT` (the worker's defaults for the first three).
 */
export function createSubjects(prefix: string = DEFAULT_SUBJECT_PREFIX, streams: StreamNames = {}): Subjects {
  if (!PREFIX.test(prefix)) {
    throw new ContractError(`invalid subject prefix ${JSON.stringify(prefix)}`);
  }
  for (const [k, v] of Object.entries(streams)) {
    if (v !== undefined && !STREAM_NAME.test(v)) {
      throw new ContractError(`invalid ${k} stream name ${JSON.stringify(v)}`);
    }
  }
  const names = { ...defaultStreamNames(prefix), ...definedOnly(streams) };
  return {
    prefix,
    down: (s) => `${prefix}.down.${checkSender(s)}`,
    downAll: `${prefix}.down.*`,
    downStream: names.down,
    out: (s) => `${prefix}.out.${checkSender(s)}`,
    outAll: `${prefix}.out.*`,
    outStream: names.out,
    internalUp: (s) => `${prefix}.internal.up.${checkSender(s)}`,
    internalUpAll: `${prefix}.internal.up.*`,
    internalUpStream: names.internalUp,
    up: (s, category) => `${prefix}.up.${checkSender(s)}.${categoryToken(category)}`,
    upOf: (s) => `${prefix}.up.${checkSender(s)}.>`,
    upAll: `${prefix}.up.>`,
    upStream: names.up,
    receipt: (s) => `${prefix}.receipt.${checkSender(s)}`,
    receiptAll: `${prefix}.receipt.*`,
    receiptStream: names.receipt,
    upstreamConsumer: `${prefix.replace(/[.]/g, "_")}-coordinator-upstream`,
    senderConsumer: (s, namePrefix = DEFAULT_WORKER_CONSUMER_PREFIX) => `${namePrefix}-${checkSender(s)}`,
  };
}
