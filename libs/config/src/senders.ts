// The senders of a worker or coordinator: entries of the contract's senders-file schema with their API
// keys resolved (inline, from a file or from an environment variable) into Secrets. A key never appears
// in a message: only where it came from (`apiKeySource`).

import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type SenderEntry, sendersFileSchema } from "@ccs/contract";
import { Secret } from "@ccs/telemetry";
import type { z } from "zod";
import { ConfigError, type ConfigProblem } from "./config-error.ts";
import { parseConfig } from "./load-config.ts";
import type { Env } from "./raw-settings.ts";

export interface SenderConfig {
  readonly senderId: string;
  readonly apiKey: Secret;
  /** Connections (slots) wanted; the contract's DEFAULT_CONNECTIONS_PER_SENDER when not given. */
  readonly connections: number;
  /** Downstream rate limit of the whole sender, messages per second. */
  readonly rate: number | undefined;
  /** `inline`, `file:<path>` or `env:<NAME>`: never the key itself. */
  readonly apiKeySource: string;
}

export interface KeyContext {
  /** Where apiKeyEnv is looked up. Default process.env. */
  readonly env?: Env;
  /** Relative apiKeyFile paths resolve against it. Default the working directory. */
  readonly baseDir?: string;
  /** Default fs.readFileSync(path, "utf8"). */
  readonly readFile?: (path: string) => string;
}

function resolveKey(
  entry: SenderEntry,
  ctx: KeyContext,
): { key: string; source: string } | { problem: string; field: string } {
  if (entry.apiKey !== undefined) return { key: entry.apiKey, source: "inline" };
  if (entry.apiKeyFile !== undefined) {
    const path = resolve(ctx.baseDir ?? process.cwd(), entry.apiKeyFile);
    let text: string;
    try {
      text = (ctx.readFile ?? ((p: string) => readFileSync(p, "utf8")))(path);
    } catch (err) {
      return {
        field: "apiKeyFile",
        problem: `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "read error"})`,
      };
    }
    const key = text.trim();
    return key === ""
      ? { field: "apiKeyFile", problem: `${path} is empty` }
      : { key, source: `file:${path}` };
  }
  const name = entry.apiKeyEnv ?? "";
  const key = (ctx.env ?? process.env)[name]?.trim() ?? "";
  return key === ""
    ? { field: "apiKeyEnv", problem: `environment variable ${name} is not set or empty` }
    : { key, source: `env:${name}` };
}

/**
 * The contract's senders-file schema followed by key resolution: use it inside a service schema, so
 * that a missing key is reported with the other problems, at its path.
 */
export function sendersSchema(ctx: KeyContext = {}) {
  return sendersFileSchema.transform((entries, zctx): SenderConfig[] => {
    const out: SenderConfig[] = [];
    entries.forEach((entry, i) => {
      const key = resolveKey(entry, ctx);
      if ("problem" in key) {
        zctx.issues.push({ code: "custom", input: entry, path: [i, key.field], message: key.problem });
        return;
      }
      out.push({
        senderId: entry.senderId,
        apiKey: new Secret(key.key),
        connections: entry.connections,
        rate: entry.rate,
        apiKeySource: key.source,
      });
    });
    return out.sort((a, b) => (a.senderId < b.senderId ? -1 : 1));
  });
}

/** Reads and validates a senders file; relative apiKeyFile paths resolve against its directory. */
export function loadSendersFile(path: string, ctx: Omit<KeyContext, "baseDir"> = {}): SenderConfig[] {
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    const reason =
      err instanceof SyntaxError ? "not valid JSON" : ((err as NodeJS.ErrnoException).code ?? "read error");
    throw new ConfigError([{ path: "", origin: path, message: `cannot load senders file (${reason})` }], {
      cause: err,
    });
  }
  const schema = sendersSchema({ ...ctx, baseDir: dirname(resolve(path)) });
  try {
    return parseConfig(schema, document);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(err.problems.map((p): ConfigProblem => ({ ...p, origin: path })));
  }
}

/** Merges sender lists from several sources; the same sender in two sources is a ConfigError. */
export function mergeSenders(...lists: readonly (readonly SenderConfig[])[]): SenderConfig[] {
  const byId = new Map<string, SenderConfig>();
  for (const s of lists.flat()) {
    if (byId.has(s.senderId)) {
      throw new ConfigError([{ path: "senders", message: `sender ${s.senderId} is configured twice` }]);
    }
    byId.set(s.senderId, s);
  }
  return [...byId.values()].sort((a, b) => (a.senderId < b.senderId ? -1 : 1));
}

/** True when two lists differ in anything, keys included (compared without printing them). */
export function sendersDiffer(a: readonly SenderConfig[], b: readonly SenderConfig[]): boolean {
  return (
    a.length !== b.length ||
    a.some((x, i) => {
      const y = b[i];
      return (
        y === undefined ||
        x.senderId !== y.senderId ||
        x.connections !== y.connections ||
        x.rate !== y.rate ||
        x.apiKey.reveal() !== y.apiKey.reveal()
      );
    })
  );
}

/** What may be shown (status, logs): everything but the key. */
export function describeSender(s: SenderConfig) {
  return {
    senderId: s.senderId,
    connections: s.connections,
    rate: s.rate ?? null,
    apiKeySource: s.apiKeySource,
  };
}

export type SendersInput = z.input<typeof sendersFileSchema>;
