import { InvalidOptionError } from "./errors.ts";
import type { LatencyDistribution } from "./latency.ts";
import { type EmulatorLogger, SILENT_LOGGER } from "./logger.ts";
import { randomSeed } from "./random.ts";
import {
  isRecord,
  readBool,
  readInt,
  readLatency,
  readNumber,
  readString,
  readStringArray,
  rejectUnknownKeys,
  requireRecord,
} from "./validate.ts";

export interface SenderCredentials {
  senderId: string;
  apiKey: string;
}

export interface DeviceRateLimit {
  messages: number;
  perMs: number;
}

export interface RandomDrainOptions {
  /** Expected number of CONNECTION_DRAINING per online connection and minute. */
  perConnectionPerMinute: number;
}

export interface UpstreamGeneratorOptions {
  ratePerSecond: number;
  devices: string[];
  categories: string[];
  /** Default: the first configured sender. */
  senderId?: string;
}

/** User-facing options of `startEmulator`; every field is optional and documented with its default. */
export interface EmulatorOptions {
  /** XMPP (TLS) listener address. Default {@link DEFAULT_HOST}. */
  host?: string;
  /** XMPP (TLS) port. Default {@link DEFAULT_PORT}; 0 picks a free port. */
  port?: number;
  /** Admin HTTP listener address. Default {@link DEFAULT_HOST} (localhost only). */
  adminHost?: string;
  /** Admin HTTP port. Default {@link DEFAULT_ADMIN_PORT}; 0 picks a free port. */
  adminPort?: number;
  /** Accepted senders. Default `[DEMO_SENDER]`. */
  senders?: SenderCredentials[];
  /** Certificate and key (PEM). Default: a generated self-signed certificate. */
  tls?: { certPem: string; keyPem: string };
  /** Where the certificate (PEM) is written for clients to trust. Default: not written. */
  certOut?: string;
  /** Pending window per connection. Default {@link DEFAULT_PENDING_LIMIT}. */
  pendingLimit?: number;
  /** false (default): count violations only; true: close the stream with `<policy-violation/>`. */
  strictPendingLimit?: boolean;
  /** Seed of every random choice. Default: random (reported by `seed` on the running emulator). */
  seed?: number;
  /** ACK/NACK latency. Default `{ kind: "fixed", ms: 0 }`. */
  ackLatency?: LatencyDistribution;
  /** Whitespace keepalive period. Default {@link DEFAULT_KEEPALIVE_INTERVAL_MS}; 0 disables. */
  keepaliveIntervalMs?: number;
  /** Default {@link DEFAULT_MAX_CONNECTIONS_PER_SENDER}. */
  maxConnectionsPerSender?: number;
  /** Default true: a well-formed unknown token becomes a registered, online device. */
  autoRegisterDevices?: boolean;
  /** Default null (off). */
  deviceRateLimit?: DeviceRateLimit | null;
  /** Default {@link DEFAULT_DRAIN_GRACE_MS}. */
  drainGraceMs?: number;
  /** Default {@link DEFAULT_UPSTREAM_MAX_UNACKED}. */
  upstreamMaxUnacked?: number;
  /** Default null. */
  randomDrain?: RandomDrainOptions | null;
  /** Default null. */
  upstreamGenerator?: UpstreamGeneratorOptions | null;
  /** Default: silent. */
  logger?: EmulatorLogger;
  /** Largest stanza accepted, in bytes. Default {@link DEFAULT_MAX_STANZA_BYTES}. */
  maxStanzaBytes?: number;
  /** Most devices in the registry. Default {@link DEFAULT_MAX_DEVICES}. */
  maxDevices?: number;
  /** Most (device, message) ledger entries kept. Default {@link DEFAULT_MAX_LEDGER_ENTRIES}. */
  maxLedgerEntries?: number;
  /** Most messages held for one offline/idle device. Default {@link DEFAULT_MAX_HELD_PER_DEVICE}. */
  maxHeldPerDevice?: number;
  /** Most upstream messages queued per sender. Default {@link DEFAULT_MAX_UPSTREAM_QUEUE}. */
  maxUpstreamQueue?: number;
  /** Bytes buffered towards a client before it is cut off as too slow. Default {@link DEFAULT_MAX_OUTBOUND_BYTES}. */
  maxOutboundBytes?: number;
  /** Clock in epoch milliseconds (tests). Default `Date.now`. */
  clock?: () => number;
}

/** The documented demo sender, accepted when no sender is configured. Not a secret. */
export const DEMO_SENDER: SenderCredentials = Object.freeze({
  senderId: "123456789012",
  apiKey: "demo-api-key-not-secret",
});

export const DEFAULT_HOST = "127.0.0.1";
export const DEFAULT_PORT = 5235;
export const DEFAULT_ADMIN_PORT = 5280;
export const DEFAULT_PENDING_LIMIT = 100;
export const DEFAULT_ACK_LATENCY: LatencyDistribution = Object.freeze({ kind: "fixed", ms: 0 });
export const DEFAULT_KEEPALIVE_INTERVAL_MS = 30_000;
export const DEFAULT_MAX_CONNECTIONS_PER_SENDER = 1000;
export const DEFAULT_DRAIN_GRACE_MS = 5000;
export const DEFAULT_UPSTREAM_MAX_UNACKED = 100;
export const DEFAULT_MAX_STANZA_BYTES = 65_536;
export const DEFAULT_MAX_DEVICES = 1_000_000;
export const DEFAULT_MAX_LEDGER_ENTRIES = 5_000_000;
export const DEFAULT_MAX_HELD_PER_DEVICE = 100;
export const DEFAULT_MAX_UPSTREAM_QUEUE = 100_000;
export const DEFAULT_MAX_OUTBOUND_BYTES = 16 * 1024 * 1024;

/** Settings that PUT /config may change while running. */
export interface RuntimeSettings {
  ackLatency: LatencyDistribution;
  pendingLimit: number;
  strictPendingLimit: boolean;
  deviceRateLimit: DeviceRateLimit | null;
  autoRegisterDevices: boolean;
  drainGraceMs: number;
  upstreamMaxUnacked: number;
}

/** Fully-resolved configuration: one validating parse of {@link EmulatorOptions}. */
export interface ResolvedConfig {
  readonly host: string;
  readonly port: number;
  readonly adminHost: string;
  readonly adminPort: number;
  readonly senders: readonly SenderCredentials[];
  readonly tls: { certPem: string; keyPem: string } | null;
  readonly certOut: string | null;
  readonly seed: number;
  readonly keepaliveIntervalMs: number;
  readonly maxConnectionsPerSender: number;
  readonly randomDrain: RandomDrainOptions | null;
  readonly upstreamGenerator: UpstreamGeneratorOptions | null;
  readonly logger: EmulatorLogger;
  readonly maxStanzaBytes: number;
  readonly maxDevices: number;
  readonly maxLedgerEntries: number;
  readonly maxHeldPerDevice: number;
  readonly maxUpstreamQueue: number;
  readonly maxOutboundBytes: number;
  readonly clock: () => number;
  readonly runtime: RuntimeSettings;
}

const OPTION_KEYS: readonly (keyof EmulatorOptions)[] = [
  "host",
  "port",
  "adminHost",
  "adminPort",
  "senders",
  "tls",
  "certOut",
  "pendingLimit",
  "strictPendingLimit",
  "seed",
  "ackLatency",
  "keepaliveIntervalMs",
  "maxConnectionsPerSender",
  "autoRegisterDevices",
  "deviceRateLimit",
  "drainGraceMs",
  "upstreamMaxUnacked",
  "randomDrain",
  "upstreamGenerator",
  "logger",
  "maxStanzaBytes",
  "maxDevices",
  "maxLedgerEntries",
  "maxHeldPerDevice",
  "maxUpstreamQueue",
  "maxOutboundBytes",
  "clock",
];

const SENDER_ID_RE = /^[A-Za-z0-9._-]{1,128}$/;
const MAX_DURATION_MS = 86_400_000;

export function readSender(value: unknown, path: string): SenderCredentials {
  const obj = requireRecord(value, path);
  rejectUnknownKeys(obj, ["senderId", "apiKey"], path);
  if (typeof obj.senderId !== "string" || !SENDER_ID_RE.test(obj.senderId)) {
    throw new InvalidOptionError(`${path}.senderId must be 1-128 characters of [A-Za-z0-9._-]`);
  }
  // The key itself never appears in an error message.
  if (
    typeof obj.apiKey !== "string" ||
    obj.apiKey.length === 0 ||
    obj.apiKey.length > 1024 ||
    /[\0\r\n]/.test(obj.apiKey)
  ) {
    throw new InvalidOptionError(`${path}.apiKey must be a non-empty string without NUL or line breaks`);
  }
  return { senderId: obj.senderId, apiKey: obj.apiKey };
}

export function readDeviceRateLimit(value: unknown, path: string): DeviceRateLimit | null {
  if (value === null) return null;
  const obj = requireRecord(value, path);
  rejectUnknownKeys(obj, ["messages", "perMs"], path);
  return {
    messages: readInt(obj.messages, `${path}.messages`, 1, 1_000_000_000),
    perMs: readInt(obj.perMs, `${path}.perMs`, 1, MAX_DURATION_MS),
  };
}

export function readRandomDrain(value: unknown, path: string): RandomDrainOptions | null {
  if (value === null) return null;
  const obj = requireRecord(value, path);
  rejectUnknownKeys(obj, ["perConnectionPerMinute"], path);
  return {
    perConnectionPerMinute: readNumber(obj.perConnectionPerMinute, `${path}.perConnectionPerMinute`, 0, 6000),
  };
}

export function readUpstreamGenerator(
  value: unknown,
  path: string,
  senders: readonly SenderCredentials[],
): UpstreamGeneratorOptions | null {
  if (value === null) return null;
  const obj = requireRecord(value, path);
  rejectUnknownKeys(obj, ["ratePerSecond", "devices", "categories", "senderId"], path);
  const generator: UpstreamGeneratorOptions = {
    ratePerSecond: readNumber(obj.ratePerSecond, `${path}.ratePerSecond`, 0.001, 1_000_000),
    devices: readStringArray(obj.devices, `${path}.devices`),
    categories: readStringArray(obj.categories, `${path}.categories`, 10_000),
  };
  if (obj.senderId !== undefined) {
    const senderId = readString(obj.senderId, `${path}.senderId`, 128);
    if (!senders.some((s) => s.senderId === senderId)) {
      throw new InvalidOptionError(`${path}.senderId: unknown sender "${senderId}"`);
    }
    generator.senderId = senderId;
  }
  return generator;
}

function readHost(value: unknown, path: string): string {
  return readString(value, path, 255);
}

function readLogger(value: unknown): EmulatorLogger {
  if (
    !isRecord(value) ||
    typeof value.info !== "function" ||
    typeof value.warn !== "function" ||
    typeof value.error !== "function" ||
    typeof value.debug !== "function"
  ) {
    throw new InvalidOptionError("logger must have info, warn, error and debug functions");
  }
  return value as unknown as EmulatorLogger;
}

/** Keys PUT /config accepts. */
export const RUNTIME_KEYS: readonly (keyof RuntimeSettings)[] = [
  "ackLatency",
  "pendingLimit",
  "strictPendingLimit",
  "deviceRateLimit",
  "autoRegisterDevices",
  "drainGraceMs",
  "upstreamMaxUnacked",
];

/** Validates a PUT /config body and returns the settings it yields over `current` (not mutated). */
export function applyRuntimePatch(
  current: RuntimeSettings,
  patch: unknown,
  path = "config",
): RuntimeSettings {
  const obj = requireRecord(patch, path);
  rejectUnknownKeys(obj, RUNTIME_KEYS, path);
  const next: RuntimeSettings = { ...current };
  if (obj.ackLatency !== undefined) next.ackLatency = readLatency(obj.ackLatency, `${path}.ackLatency`);
  if (obj.pendingLimit !== undefined)
    next.pendingLimit = readInt(obj.pendingLimit, `${path}.pendingLimit`, 1, 1_000_000);
  if (obj.strictPendingLimit !== undefined) {
    next.strictPendingLimit = readBool(obj.strictPendingLimit, `${path}.strictPendingLimit`);
  }
  if (obj.deviceRateLimit !== undefined) {
    next.deviceRateLimit = readDeviceRateLimit(obj.deviceRateLimit, `${path}.deviceRateLimit`);
  }
  if (obj.autoRegisterDevices !== undefined) {
    next.autoRegisterDevices = readBool(obj.autoRegisterDevices, `${path}.autoRegisterDevices`);
  }
  if (obj.drainGraceMs !== undefined)
    next.drainGraceMs = readInt(obj.drainGraceMs, `${path}.drainGraceMs`, 0, MAX_DURATION_MS);
  if (obj.upstreamMaxUnacked !== undefined) {
    next.upstreamMaxUnacked = readInt(obj.upstreamMaxUnacked, `${path}.upstreamMaxUnacked`, 1, 1_000_000);
  }
  return next;
}

/**
 * The one validating parse of {@link EmulatorOptions}: rejects unknown keys, wrong types, out-of-range
 * values and conflicts with a clear message, and yields a fully-resolved config. `options` is not mutated.
 */
export function resolveConfig(options: EmulatorOptions = {}): ResolvedConfig {
  const o = requireRecord(options, "options") as EmulatorOptions & Record<string, unknown>;
  rejectUnknownKeys(o, OPTION_KEYS, "options");

  const senders = o.senders === undefined ? [DEMO_SENDER] : readSenders(o.senders);
  let tls: ResolvedConfig["tls"] = null;
  if (o.tls !== undefined) {
    const t = requireRecord(o.tls, "options.tls");
    rejectUnknownKeys(t, ["certPem", "keyPem"], "options.tls");
    if (typeof t.certPem !== "string" || !t.certPem.includes("-----BEGIN")) {
      throw new InvalidOptionError("options.tls.certPem must be a PEM certificate");
    }
    if (typeof t.keyPem !== "string" || !t.keyPem.includes("-----BEGIN")) {
      throw new InvalidOptionError("options.tls.keyPem must be a PEM private key");
    }
    tls = { certPem: t.certPem, keyPem: t.keyPem };
  }

  const runtime = applyRuntimePatch(
    {
      ackLatency: DEFAULT_ACK_LATENCY,
      pendingLimit: DEFAULT_PENDING_LIMIT,
      strictPendingLimit: false,
      deviceRateLimit: null,
      autoRegisterDevices: true,
      drainGraceMs: DEFAULT_DRAIN_GRACE_MS,
      upstreamMaxUnacked: DEFAULT_UPSTREAM_MAX_UNACKED,
    },
    pickDefined(o, RUNTIME_KEYS),
    "options",
  );

  const clock = o.clock ?? Date.now;
  if (typeof clock !== "function") throw new InvalidOptionError("options.clock must be a function");

  return {
    host: o.host === undefined ? DEFAULT_HOST : readHost(o.host, "options.host"),
    port: o.port === undefined ? DEFAULT_PORT : readInt(o.port, "options.port", 0, 65535),
    adminHost: o.adminHost === undefined ? DEFAULT_HOST : readHost(o.adminHost, "options.adminHost"),
    adminPort:
      o.adminPort === undefined ? DEFAULT_ADMIN_PORT : readInt(o.adminPort, "options.adminPort", 0, 65535),
    senders,
    tls,
    certOut: o.certOut === undefined ? null : readString(o.certOut, "options.certOut"),
    seed: o.seed === undefined ? randomSeed() : readInt(o.seed, "options.seed", 0, 4294967295),
    keepaliveIntervalMs:
      o.keepaliveIntervalMs === undefined
        ? DEFAULT_KEEPALIVE_INTERVAL_MS
        : readInt(o.keepaliveIntervalMs, "options.keepaliveIntervalMs", 0, MAX_DURATION_MS),
    maxConnectionsPerSender:
      o.maxConnectionsPerSender === undefined
        ? DEFAULT_MAX_CONNECTIONS_PER_SENDER
        : readInt(o.maxConnectionsPerSender, "options.maxConnectionsPerSender", 1, 1_000_000),
    randomDrain: o.randomDrain === undefined ? null : readRandomDrain(o.randomDrain, "options.randomDrain"),
    upstreamGenerator:
      o.upstreamGenerator === undefined
        ? null
        : readUpstreamGenerator(o.upstreamGenerator, "options.upstreamGenerator", senders),
    logger: o.logger === undefined ? SILENT_LOGGER : readLogger(o.logger),
    maxStanzaBytes: readOptionalInt(
      o.maxStanzaBytes,
      "maxStanzaBytes",
      DEFAULT_MAX_STANZA_BYTES,
      1024,
      16 * 1024 * 1024,
    ),
    maxDevices: readOptionalInt(o.maxDevices, "maxDevices", DEFAULT_MAX_DEVICES, 1, 100_000_000),
    maxLedgerEntries: readOptionalInt(
      o.maxLedgerEntries,
      "maxLedgerEntries",
      DEFAULT_MAX_LEDGER_ENTRIES,
      0,
      100_000_000,
    ),
    maxHeldPerDevice: readOptionalInt(
      o.maxHeldPerDevice,
      "maxHeldPerDevice",
      DEFAULT_MAX_HELD_PER_DEVICE,
      1,
      100_000,
    ),
    maxUpstreamQueue: readOptionalInt(
      o.maxUpstreamQueue,
      "maxUpstreamQueue",
      DEFAULT_MAX_UPSTREAM_QUEUE,
      1,
      10_000_000,
    ),
    maxOutboundBytes: readOptionalInt(
      o.maxOutboundBytes,
      "maxOutboundBytes",
      DEFAULT_MAX_OUTBOUND_BYTES,
      64 * 1024,
      1024 * 1024 * 1024,
    ),
    clock,
    runtime,
  };
}

function readSenders(value: unknown): SenderCredentials[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new InvalidOptionError("options.senders must be a non-empty array");
  }
  const senders = value.map((s, i) => readSender(s, `options.senders[${i}]`));
  const seen = new Set<string>();
  for (const s of senders) {
    if (seen.has(s.senderId))
      throw new InvalidOptionError(`options.senders: sender "${s.senderId}" is listed twice`);
    seen.add(s.senderId);
  }
  return senders;
}

function readOptionalInt(value: unknown, name: string, fallback: number, min: number, max: number): number {
  return value === undefined ? fallback : readInt(value, `options.${name}`, min, max);
}

function pickDefined(obj: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) if (obj[key] !== undefined) out[key] = obj[key];
  return out;
}
