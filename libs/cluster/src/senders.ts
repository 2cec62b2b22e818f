// Sender configuration shared by coordinators (which assign the slots) and workers (which need the API
// keys): the same file and secret sources are read by both, so keys never travel through Redis or NATS.
//
// File format (JSON):
//   { "senders": [ { "senderId": "123", "apiKeyEnv": "CCS_KEY_123", "connections": 4, "rate": 500 } ] }
// Exactly one of apiKey | apiKeyFile (relative paths resolve against the senders file) | apiKeyEnv.

import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { isValidSenderId } from "@ccs/contract";
import { Secret } from "@ccs/telemetry";
import { ClusterError, InvalidOptionError } from "./errors.ts";

export const DEFAULT_SENDER_CONNECTIONS = 1;
export const MAX_SENDER_CONNECTIONS = 1_000;

export interface SenderConfig {
  readonly senderId: string;
  readonly apiKey: Secret;
  /** Connections (slots) wanted. Default {@link DEFAULT_SENDER_CONNECTIONS}. */
  readonly connections: number;
  /** Optional downstream rate limit, messages per second for the whole sender. */
  readonly rate: number | undefined;
  /** Where the key came from (`inline`, `file:<path>`, `env:<NAME>`): never the key itself. */
  readonly apiKeySource: string;
}

/** The senders file or an entry in it is invalid; `path` says where. */
export class SendersConfigError extends ClusterError {
  override readonly name = "SendersConfigError";
  readonly path: string;
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(`${path}: ${message}`, options);
    this.path = path;
  }
}

export interface LoadSendersOptions {
  /** Environment used for `apiKeyEnv`. Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Base dir for relative `apiKeyFile` paths. */
  readonly baseDir?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const ALLOWED = new Set(["senderId", "apiKey", "apiKeyFile", "apiKeyEnv", "connections", "rate"]);

async function parseSender(raw: unknown, where: string, options: LoadSendersOptions): Promise<SenderConfig> {
  if (!isRecord(raw)) {
    throw new SendersConfigError(where, "must be an object");
  }
  for (const key of Object.keys(raw)) {
    if (!ALLOWED.has(key)) {
      throw new SendersConfigError(where, `unknown field ${JSON.stringify(key)}`);
    }
  }
  const senderId = raw.senderId;
  if (typeof senderId !== "string" || !isValidSenderId(senderId)) {
    throw new SendersConfigError(where, "senderId must be 1-128 letters, digits, '_' or '-'");
  }
  const sources = (["apiKey", "apiKeyFile", "apiKeyEnv"] as const).filter((k) => raw[k] !== undefined);
  if (sources.length !== 1) {
    throw new SendersConfigError(where, "exactly one of apiKey, apiKeyFile, apiKeyEnv is required");
  }
  let key: string;
  let apiKeySource: string;
  const source = sources[0];
  const value = source === undefined ? undefined : raw[source];
  if (typeof value !== "string" || value.length === 0) {
    throw new SendersConfigError(where, `${source} must be a non-empty string`);
  }
  if (source === "apiKey") {
    key = value;
    apiKeySource = "inline";
  } else if (source === "apiKeyFile") {
    const path = resolve(options.baseDir ?? process.cwd(), value);
    try {
      key = (await readFile(path, "utf8")).trim();
    } catch (error) {
      throw new SendersConfigError(where, `cannot read apiKeyFile ${path}`, { cause: error });
    }
    apiKeySource = `file:${path}`;
  } else {
    const fromEnv = (options.env ?? process.env)[value];
    if (fromEnv === undefined || fromEnv.length === 0) {
      throw new SendersConfigError(where, `environment variable ${value} (apiKeyEnv) is not set`);
    }
    key = fromEnv.trim();
    apiKeySource = `env:${value}`;
  }
  if (key.length === 0) {
    throw new SendersConfigError(where, "API key is empty");
  }
  const connections = raw.connections ?? DEFAULT_SENDER_CONNECTIONS;
  if (
    typeof connections !== "number" ||
    !Number.isInteger(connections) ||
    connections < 0 ||
    connections > MAX_SENDER_CONNECTIONS
  ) {
    throw new SendersConfigError(where, `connections must be an integer in [0, ${MAX_SENDER_CONNECTIONS}]`);
  }
  const rate = raw.rate;
  if (rate !== undefined && (typeof rate !== "number" || !Number.isFinite(rate) || rate <= 0)) {
    throw new SendersConfigError(where, "rate must be a positive number (messages per second)");
  }
  return { senderId, apiKey: new Secret(key), connections, rate, apiKeySource };
}

/** Parses a senders document (`{ "senders": [...] }` or a bare array). Rejects duplicate sender ids. */
export async function parseSenders(
  document: unknown,
  source: string,
  options: LoadSendersOptions = {},
): Promise<SenderConfig[]> {
  const list = Array.isArray(document) ? document : isRecord(document) ? document.senders : undefined;
  if (!Array.isArray(list)) {
    throw new SendersConfigError(source, 'expected { "senders": [ ... ] }');
  }
  const out: SenderConfig[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of list.entries()) {
    const sender = await parseSender(raw, `${source} senders[${i}]`, options);
    if (seen.has(sender.senderId)) {
      throw new SendersConfigError(`${source} senders[${i}]`, `duplicate senderId ${sender.senderId}`);
    }
    seen.add(sender.senderId);
    out.push(sender);
  }
  return out.sort((a, b) => (a.senderId < b.senderId ? -1 : 1));
}

/** Reads and parses a senders file; relative apiKeyFile paths resolve against its directory. */
export async function loadSendersFile(
  path: string,
  options: Omit<LoadSendersOptions, "baseDir"> = {},
): Promise<SenderConfig[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new SendersConfigError(path, "cannot read senders file", { cause: error });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new SendersConfigError(path, "not valid JSON", { cause: error });
  }
  return parseSenders(document, path, { ...options, baseDir: dirname(resolve(path)) });
}

/** Merges sender lists from several sources; the same sender id in two sources is an error. */
export function mergeSenders(...lists: readonly (readonly SenderConfig[])[]): SenderConfig[] {
  const byId = new Map<string, SenderConfig>();
  for (const list of lists) {
    for (const s of list) {
      if (byId.has(s.senderId)) {
        throw new InvalidOptionError(`sender ${s.senderId} is configured twice`);
      }
      byId.set(s.senderId, s);
    }
  }
  return [...byId.values()].sort((a, b) => (a.senderId < b.senderId ? -1 : 1));
}

/** True when two configurations differ in anything (including keys, compared without revealing them in output). */
export function sendersDiffer(a: readonly SenderConfig[], b: readonly SenderConfig[]): boolean {
  if (a.length !== b.length) {
    return true;
  }
  return a.some((x, i) => {
    const y = b[i];
    return (
      y === undefined ||
      x.senderId !== y.senderId ||
      x.connections !== y.connections ||
      x.rate !== y.rate ||
      x.apiKey.reveal() !== y.apiKey.reveal()
    );
  });
}

/** What may be shown (status, logs): everything but the key. */
export function describeSender(s: SenderConfig): {
  senderId: string;
  connections: number;
  rate: number | null;
  apiKeySource: string;
} {
  return {
    senderId: s.senderId,
    connections: s.connections,
    rate: s.rate ?? null,
    apiKeySource: s.apiKeySource,
  };
}
