// Argument parsing and the NATS connection shared by scripts/ccs-send.ts and scripts/ccs-watch.ts (node:util parseArgs),
// including the flags both take (--nats, --prefix, --help).
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { ContractError, createSubjects, DEFAULT_SUBJECT_PREFIX, type Subjects } from "@ccs/contract";
import { connect, type NatsConnection } from "@nats-io/transport-node";

export const DEFAULT_SENDER_ID = "123456789012";

/** NATS servers of the local cluster (or CCS_NATS_SERVERS), comma-separated. */
export function natsServers(flag: string | undefined): string[] {
  const raw = flag ?? process.env.CCS_NATS_SERVERS ?? "nats://127.0.0.1:4222";
  return raw
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function subjectPrefix(flag: string | undefined): string {
  return flag ?? process.env.CCS_SUBJECT_PREFIX ?? DEFAULT_SUBJECT_PREFIX;
}

/**
 * The contract's subjects under `prefix`, checking `senderId` too when given; a prefix or sender id
 * that would break a subject exits 2 with one clear line and the usage.
 */
export function subjectsOrExit(prefix: string, senderId: string | undefined, usage: string): Subjects {
  try {
    const subjects = createSubjects(prefix);
    if (senderId !== undefined) subjects.down(senderId);
    return subjects;
  } catch (err) {
    if (!(err instanceof ContractError)) throw err;
    process.stderr.write(`${err.message}\n${usage}\n`);
    process.exit(2);
  }
}

/** Flags every script takes: `--nats URL[,URL...]`, `--prefix P` and `--help`. */
const COMMON_OPTIONS = {
  nats: { type: "string" },
  prefix: { type: "string" },
  help: { type: "boolean" },
} as const satisfies ParseArgsOptionsConfig;

function parseOrExit<T extends ParseArgsOptionsConfig>(options: T, usage: string) {
  try {
    return parseArgs({ options, allowPositionals: false, strict: true }).values;
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${usage}\n`);
    process.exit(2);
  }
}

/** The script's flags plus {@link COMMON_OPTIONS}; prints `usage` and exits on `--help` (0) or a bad flag (2). */
export function parseCli<T extends ParseArgsOptionsConfig>(options: T, usage: string) {
  const values = parseOrExit({ ...options, ...COMMON_OPTIONS }, usage);
  if ((values as { readonly help?: boolean }).help === true) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  return values;
}

/** An integer flag within [min, max]; exits 2 with the usage otherwise. */
export function intInRange(name: string, raw: string, min: number, max: number, usage: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(
      `--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}\n${usage}\n`,
    );
    process.exit(2);
  }
  return n;
}

export function positiveInt(name: string, raw: string | undefined, fallback: number, usage: string): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`--${name} must be a positive integer, got ${JSON.stringify(raw)}\n${usage}\n`);
    process.exit(2);
  }
  return n;
}

/** Connects to NATS or exits 1 with one clear line (no stack trace) naming the servers and the way to change them. */
export async function connectOrExit(servers: string[], name: string): Promise<NatsConnection> {
  try {
    return await connect({ servers, name });
  } catch (err) {
    process.stderr.write(
      `${name}: cannot connect to NATS at ${servers.join(", ")} (${err instanceof Error ? err.message : String(err)}); ` +
        "is the cluster running (npm start)? Use --nats URL or CCS_NATS_SERVERS to point elsewhere.\n",
    );
    process.exit(1);
  }
}
