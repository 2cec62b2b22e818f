import { pino } from "pino";
import { DEFAULT_LOG_LEVEL, type LogLevel } from "./log-level.ts";
import { REDACTED } from "./secret.ts";

/** A log call as library code makes it: structured fields first, then an optional message. */
export type LogFn = (obj: object, msg?: string) => void;

/** A log method: structured fields first, then an optional message; or just a message. */
export interface LogMethod {
  (obj: object, msg?: string): void;
  (msg: string): void;
}

/**
 * The small logger interface library code depends on. pino's Logger, {@link ServiceLogger} and
 * {@link silentLogger} satisfy it; keeping it this narrow keeps test fakes small.
 */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

/** What {@link createLogger} returns: a {@link Logger} plus fatal/trace, message-only calls and the level. */
export interface ServiceLogger extends Logger {
  fatal: LogMethod;
  error: LogMethod;
  warn: LogMethod;
  info: LogMethod;
  debug: LogMethod;
  trace: LogMethod;
  child(bindings: Record<string, unknown>): ServiceLogger;
  level: string;
}

/** A logger that drops everything (the default when none is given). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** Error fields safe to log: name, code, message (never the objects errors may carry). */
export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { err: { name: err.name, message: err.message, ...(code === undefined ? {} : { code }) } };
  }
  return { err: { message: String(err) } };
}

/** Field names whose values are secrets wherever they appear. */
export const SECRET_FIELD_NAMES: readonly string[] = [
  "apiKey",
  "api_key",
  "apikey",
  "serverKey",
  "server_key",
  "password",
  "passwd",
  "pass",
  "secret",
  "clientSecret",
  "client_secret",
  "authorization",
  "Authorization",
  "token",
  "accessToken",
  "access_token",
  "refreshToken",
  "refresh_token",
  "privateKey",
  "private_key",
  "cookie",
];

/** How deep below the top level a secret field is found (pino wildcards match exactly one level). */
export const REDACT_DEPTH = 4;

function pathsFor(names: readonly string[], depth: number): string[] {
  const paths: string[] = [];
  for (let level = 0; level <= depth; level++) {
    const prefix = "*.".repeat(level);
    for (const name of names) {
      paths.push(`${prefix}${name}`);
    }
  }
  return paths;
}

/**
 * Default redaction paths: every {@link SECRET_FIELD_NAMES} entry at the top level and nested up to
 * {@link REDACT_DEPTH} levels (`apiKey`, `*.apiKey`, `*.*.apiKey`, ...).
 */
export const DEFAULT_REDACT_PATHS: readonly string[] = Object.freeze(
  pathsFor(SECRET_FIELD_NAMES, REDACT_DEPTH),
);

export interface CreateLoggerOptions {
  /** Written as `service` on every line. */
  readonly service: string;
  /** Default {@link DEFAULT_LOG_LEVEL}. */
  readonly level?: LogLevel;
  /** Where JSON lines go. Default: stdout (pino's fast destination). */
  readonly destination?: pino.DestinationStream | NodeJS.WritableStream;
  /** Extra redaction paths (pino syntax), added to {@link DEFAULT_REDACT_PATHS}. */
  readonly redactPaths?: readonly string[];
  /** Extra fields on every line. `service` wins over a `service` key here. */
  readonly base?: Record<string, unknown>;
}

/**
 * Creates a pino logger that writes one JSON object per line with `level` as a label, an ISO time,
 * `service`, `pid`, `hostname`, and secrets censored as {@link REDACTED}.
 */
export function createLogger(options: CreateLoggerOptions): ServiceLogger {
  const loggerOptions: pino.LoggerOptions = {
    level: options.level ?? DEFAULT_LOG_LEVEL,
    base: { pid: process.pid, ...options.base, service: options.service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: [...DEFAULT_REDACT_PATHS, ...(options.redactPaths ?? [])], censor: REDACTED },
  };
  const destination = options.destination as pino.DestinationStream | undefined;
  return destination === undefined ? pino(loggerOptions) : pino(loggerOptions, destination);
}
