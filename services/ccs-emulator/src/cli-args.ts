import { parseArgs } from "node:util";
import {
  type EmulatorOptions,
  readDeviceRateLimit,
  readRandomDrain,
  readSender,
  type SenderCredentials,
  type UpstreamGeneratorOptions,
} from "./config.ts";
import { InvalidOptionError } from "./errors.ts";
import type { LatencyDistribution } from "./latency.ts";
import { readLatency } from "./validate.ts";

export type LogLevel = "silent" | "info" | "debug";
export const DEFAULT_LOG_LEVEL: LogLevel = "info";

/** What the command line and environment ask for; files are named, not read (see cli.ts). */
export interface CliRequest {
  help: boolean;
  options: Omit<EmulatorOptions, "tls" | "logger" | "clock">;
  tlsCertFile: string | null;
  tlsKeyFile: string | null;
  logLevel: LogLevel;
}

type Kind = "string" | "boolean";
interface FlagSpec {
  readonly flag: string;
  readonly env: string | null;
  readonly type: Kind;
  readonly multiple?: boolean;
  readonly help: string;
}

/** Every flag with its environment twin; the README's table is generated from the same facts. */
export const FLAGS: readonly FlagSpec[] = [
  { flag: "host", env: "CCS_EMULATOR_HOST", type: "string", help: "XMPP listen address (default 127.0.0.1)" },
  {
    flag: "port",
    env: "CCS_EMULATOR_PORT",
    type: "string",
    help: "XMPP TLS port (default 5235; 0 = free port)",
  },
  {
    flag: "admin-host",
    env: "CCS_EMULATOR_ADMIN_HOST",
    type: "string",
    help: "admin HTTP address (default 127.0.0.1)",
  },
  {
    flag: "admin-port",
    env: "CCS_EMULATOR_ADMIN_PORT",
    type: "string",
    help: "admin HTTP port (default 5280; 0 = free port)",
  },
  {
    flag: "sender",
    env: "CCS_EMULATOR_SENDERS",
    type: "string",
    multiple: true,
    help: "ID:APIKEY, repeatable (env: comma-separated); default the demo sender 123456789012:demo-api-key-not-secret",
  },
  {
    flag: "tls-cert",
    env: "CCS_EMULATOR_TLS_CERT",
    type: "string",
    help: "PEM certificate file (with --tls-key)",
  },
  {
    flag: "tls-key",
    env: "CCS_EMULATOR_TLS_KEY",
    type: "string",
    help: "PEM private key file (with --tls-cert)",
  },
  {
    flag: "cert-out",
    env: "CCS_EMULATOR_CERT_OUT",
    type: "string",
    help: "where the certificate PEM is written (default: <tmpdir>/ccs-emulator-<pid>-cert.pem when generated)",
  },
  {
    flag: "pending-limit",
    env: "CCS_EMULATOR_PENDING_LIMIT",
    type: "string",
    help: "pending window per connection (default 100)",
  },
  {
    flag: "strict-pending-limit",
    env: "CCS_EMULATOR_STRICT_PENDING_LIMIT",
    type: "boolean",
    help: "close the stream with <policy-violation/> when the window is exceeded (default off)",
  },
  {
    flag: "seed",
    env: "CCS_EMULATOR_SEED",
    type: "string",
    help: "seed for reproducible random behaviour (default random)",
  },
  {
    flag: "ack-latency",
    env: "CCS_EMULATOR_ACK_LATENCY",
    type: "string",
    help: "MS | fixed:MS | uniform:MIN-MAX | exponential:MEAN[:MAX] (default 0)",
  },
  {
    flag: "keepalive-interval-ms",
    env: "CCS_EMULATOR_KEEPALIVE_INTERVAL_MS",
    type: "string",
    help: "whitespace keepalive period (default 30000; 0 = off)",
  },
  {
    flag: "max-connections-per-sender",
    env: "CCS_EMULATOR_MAX_CONNECTIONS_PER_SENDER",
    type: "string",
    help: "connection limit per sender (default 1000)",
  },
  {
    flag: "auto-register-devices",
    env: "CCS_EMULATOR_AUTO_REGISTER_DEVICES",
    type: "string",
    help: "true|false: well-formed unknown tokens become devices (default true)",
  },
  {
    flag: "device-rate-limit",
    env: "CCS_EMULATOR_DEVICE_RATE_LIMIT",
    type: "string",
    help: "MESSAGES/MS per device, e.g. 100/1000 (default off)",
  },
  {
    flag: "drain-grace-ms",
    env: "CCS_EMULATOR_DRAIN_GRACE_MS",
    type: "string",
    help: "stream closes this long after CONNECTION_DRAINING (default 5000)",
  },
  {
    flag: "upstream-max-unacked",
    env: "CCS_EMULATOR_UPSTREAM_MAX_UNACKED",
    type: "string",
    help: "un-ACKed upstream messages after which a connection gets no more (default 100)",
  },
  {
    flag: "random-drain",
    env: "CCS_EMULATOR_RANDOM_DRAIN",
    type: "string",
    help: "CONNECTION_DRAINING per connection and minute, at random (default off)",
  },
  {
    flag: "upstream-rate",
    env: "CCS_EMULATOR_UPSTREAM_RATE",
    type: "string",
    help: "generated upstream messages per second (default off)",
  },
  {
    flag: "upstream-devices",
    env: "CCS_EMULATOR_UPSTREAM_DEVICES",
    type: "string",
    help: "comma-separated device tokens sending generated upstream",
  },
  {
    flag: "upstream-categories",
    env: "CCS_EMULATOR_UPSTREAM_CATEGORIES",
    type: "string",
    help: "comma-separated categories of generated upstream (default com.example.app)",
  },
  {
    flag: "upstream-sender",
    env: "CCS_EMULATOR_UPSTREAM_SENDER",
    type: "string",
    help: "sender of generated upstream (default the first)",
  },
  {
    flag: "max-stanza-bytes",
    env: "CCS_EMULATOR_MAX_STANZA_BYTES",
    type: "string",
    help: "largest stanza accepted (default 65536)",
  },
  {
    flag: "max-devices",
    env: "CCS_EMULATOR_MAX_DEVICES",
    type: "string",
    help: "device registry bound (default 1000000)",
  },
  {
    flag: "max-ledger-entries",
    env: "CCS_EMULATOR_MAX_LEDGER_ENTRIES",
    type: "string",
    help: "ledger bound (default 5000000)",
  },
  {
    flag: "max-held-per-device",
    env: "CCS_EMULATOR_MAX_HELD_PER_DEVICE",
    type: "string",
    help: "messages held per offline device (default 100)",
  },
  {
    flag: "max-upstream-queue",
    env: "CCS_EMULATOR_MAX_UPSTREAM_QUEUE",
    type: "string",
    help: "upstream queue bound per sender (default 100000)",
  },
  {
    flag: "log-level",
    env: "CCS_EMULATOR_LOG_LEVEL",
    type: "string",
    help: "silent|info|debug, JSON lines on stderr (default info)",
  },
  { flag: "help", env: null, type: "boolean", help: "print this help" },
];

export function usage(): string {
  const lines = [
    "Usage: ccs-emulator [flags]",
    "",
    "Flags (environment variable in brackets; the flag wins):",
  ];
  for (const f of FLAGS) {
    const left = `  --${f.flag}${f.type === "string" ? " VALUE" : ""}`;
    lines.push(`${left.padEnd(36)} ${f.help}${f.env ? ` [${f.env}]` : ""}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Parses argv (without node and script) and the environment. Throws InvalidOptionError on any bad value. */
export function parseCliArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): CliRequest {
  const spec: Record<string, { type: Kind; multiple?: boolean }> = {};
  for (const f of FLAGS) spec[f.flag] = f.multiple ? { type: f.type, multiple: true } : { type: f.type };
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options: spec, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new InvalidOptionError(err instanceof Error ? err.message : String(err), { cause: err });
  }

  const str = (flag: string): string | undefined => {
    const v = values[flag];
    if (typeof v === "string") return v;
    const envName = FLAGS.find((f) => f.flag === flag)?.env;
    const e = envName ? env[envName] : undefined;
    return e === undefined || e === "" ? undefined : e;
  };
  const bool = (flag: string): boolean | undefined => {
    const v = values[flag];
    if (typeof v === "boolean") return v;
    const raw = str(flag);
    return raw === undefined ? undefined : parseBool(raw, `--${flag}`);
  };
  const int = (flag: string): number | undefined => {
    const raw = str(flag);
    return raw === undefined ? undefined : parseIntStrict(raw, `--${flag}`);
  };

  const options: CliRequest["options"] = {};
  const set = <K extends keyof CliRequest["options"]>(
    key: K,
    value: CliRequest["options"][K] | undefined,
  ): void => {
    if (value !== undefined) options[key] = value;
  };
  set("host", str("host"));
  set("port", int("port"));
  set("adminHost", str("admin-host"));
  set("adminPort", int("admin-port"));
  set("senders", parseSenders(values.sender, env.CCS_EMULATOR_SENDERS));
  set("certOut", str("cert-out"));
  set("pendingLimit", int("pending-limit"));
  set("strictPendingLimit", bool("strict-pending-limit"));
  set("seed", int("seed"));
  const latency = str("ack-latency");
  set("ackLatency", latency === undefined ? undefined : parseLatencySpec(latency));
  set("keepaliveIntervalMs", int("keepalive-interval-ms"));
  set("maxConnectionsPerSender", int("max-connections-per-sender"));
  const autoRegister = str("auto-register-devices");
  set(
    "autoRegisterDevices",
    autoRegister === undefined ? undefined : parseBool(autoRegister, "--auto-register-devices"),
  );
  const rate = str("device-rate-limit");
  set("deviceRateLimit", rate === undefined ? undefined : parseRateLimit(rate));
  set("drainGraceMs", int("drain-grace-ms"));
  set("upstreamMaxUnacked", int("upstream-max-unacked"));
  const drain = str("random-drain");
  set(
    "randomDrain",
    drain === undefined
      ? undefined
      : readRandomDrain(
          { perConnectionPerMinute: parseNumberStrict(drain, "--random-drain") },
          "--random-drain",
        ),
  );
  set("upstreamGenerator", parseGenerator(str));
  set("maxStanzaBytes", int("max-stanza-bytes"));
  set("maxDevices", int("max-devices"));
  set("maxLedgerEntries", int("max-ledger-entries"));
  set("maxHeldPerDevice", int("max-held-per-device"));
  set("maxUpstreamQueue", int("max-upstream-queue"));

  const tlsCertFile = str("tls-cert") ?? null;
  const tlsKeyFile = str("tls-key") ?? null;
  if ((tlsCertFile === null) !== (tlsKeyFile === null)) {
    throw new InvalidOptionError("--tls-cert and --tls-key go together: give both or neither");
  }
  const level = str("log-level") ?? DEFAULT_LOG_LEVEL;
  if (level !== "silent" && level !== "info" && level !== "debug") {
    throw new InvalidOptionError("--log-level must be silent, info or debug");
  }
  return { help: values.help === true, options, tlsCertFile, tlsKeyFile, logLevel: level };
}

function parseBool(raw: string, name: string): boolean {
  const v = raw.trim().toLowerCase();
  if (v === "true" || v === "1" || v === "yes" || v === "on") return true;
  if (v === "false" || v === "0" || v === "no" || v === "off") return false;
  throw new InvalidOptionError(`${name} must be true or false, got "${raw}"`);
}

function parseIntStrict(raw: string, name: string): number {
  if (!/^-?\d+$/.test(raw.trim())) throw new InvalidOptionError(`${name} must be an integer, got "${raw}"`);
  return Number(raw.trim());
}

function parseNumberStrict(raw: string, name: string): number {
  const n = Number(raw.trim());
  if (raw.trim() === "" || !Number.isFinite(n))
    throw new InvalidOptionError(`${name} must be a number, got "${raw}"`);
  return n;
}

/** `ID:APIKEY` (the key may contain ':'); the key never appears in an error message. */
export function parseSenderSpec(spec: string, name: string): SenderCredentials {
  const colon = spec.indexOf(":");
  if (colon <= 0 || colon === spec.length - 1) {
    throw new InvalidOptionError(`${name} must look like SENDER_ID:API_KEY`);
  }
  return readSender({ senderId: spec.slice(0, colon).trim(), apiKey: spec.slice(colon + 1).trim() }, name);
}

function parseSenders(
  flags: string | boolean | (string | boolean)[] | undefined,
  envValue: string | undefined,
): SenderCredentials[] | undefined {
  const fromFlags = Array.isArray(flags) ? flags.filter((f): f is string => typeof f === "string") : [];
  if (fromFlags.length > 0) return fromFlags.map((s, i) => parseSenderSpec(s, `--sender #${i + 1}`));
  if (envValue === undefined || envValue.trim() === "") return undefined;
  return envValue
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s, i) => parseSenderSpec(s, `CCS_EMULATOR_SENDERS entry #${i + 1}`));
}

/** `5`, `fixed:5`, `uniform:1-10`, `exponential:5` or `exponential:5:100`. */
export function parseLatencySpec(spec: string): LatencyDistribution {
  const s = spec.trim();
  const name = "--ack-latency";
  if (/^\d+$/.test(s)) return readLatency({ kind: "fixed", ms: Number(s) }, name);
  const [kind, rest = "", extra] = s.split(":");
  if (kind === "fixed" && extra === undefined)
    return readLatency({ kind, ms: parseIntStrict(rest, name) }, name);
  if (kind === "uniform" && extra === undefined) {
    const [min = "", max = ""] = rest.split("-");
    return readLatency({ kind, minMs: parseIntStrict(min, name), maxMs: parseIntStrict(max, name) }, name);
  }
  if (kind === "exponential") {
    const meanMs = parseIntStrict(rest, name);
    return readLatency(
      extra === undefined ? { kind, meanMs } : { kind, meanMs, maxMs: parseIntStrict(extra, name) },
      name,
    );
  }
  throw new InvalidOptionError(
    `${name} must be MS, fixed:MS, uniform:MIN-MAX or exponential:MEAN[:MAX], got "${spec}"`,
  );
}

/** `MESSAGES/MS`, e.g. `100/1000`. */
export function parseRateLimit(spec: string): { messages: number; perMs: number } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
  const limit = m
    ? readDeviceRateLimit({ messages: Number(m[1]), perMs: Number(m[2]) }, "--device-rate-limit")
    : null;
  if (limit === null)
    throw new InvalidOptionError(`--device-rate-limit must look like MESSAGES/MS, got "${spec}"`);
  return limit;
}

function parseGenerator(str: (flag: string) => string | undefined): UpstreamGeneratorOptions | undefined {
  const rate = str("upstream-rate");
  const devices = str("upstream-devices");
  const categories = str("upstream-categories");
  const sender = str("upstream-sender");
  if (rate === undefined) {
    if (devices !== undefined || categories !== undefined || sender !== undefined) {
      throw new InvalidOptionError(
        "--upstream-devices/--upstream-categories/--upstream-sender need --upstream-rate",
      );
    }
    return undefined;
  }
  if (devices === undefined) throw new InvalidOptionError("--upstream-rate needs --upstream-devices");
  const list = (s: string) =>
    s
      .split(",")
      .map((x) => x.trim())
      .filter((x) => x !== "");
  const generator: UpstreamGeneratorOptions = {
    ratePerSecond: parseNumberStrict(rate, "--upstream-rate"),
    devices: list(devices),
    categories: categories === undefined ? ["com.example.app"] : list(categories),
  };
  if (sender !== undefined) generator.senderId = sender;
  return generator;
}
