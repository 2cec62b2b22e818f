export type { CliRequest, LogLevel } from "./cli-args.ts";
export { FLAGS, parseCliArgs, usage } from "./cli-args.ts";
export type {
  DeviceRateLimit,
  EmulatorOptions,
  RandomDrainOptions,
  ResolvedConfig,
  RuntimeSettings,
  SenderCredentials,
  UpstreamGeneratorOptions,
} from "./config.ts";
export {
  DEFAULT_ACK_LATENCY,
  DEFAULT_ADMIN_PORT,
  DEFAULT_DRAIN_GRACE_MS,
  DEFAULT_HOST,
  DEFAULT_KEEPALIVE_INTERVAL_MS,
  DEFAULT_MAX_CONNECTIONS_PER_SENDER,
  DEFAULT_MAX_DEVICES,
  DEFAULT_MAX_HELD_PER_DEVICE,
  DEFAULT_MAX_LEDGER_ENTRIES,
  DEFAULT_MAX_OUTBOUND_BYTES,
  DEFAULT_MAX_STANZA_BYTES,
  DEFAULT_MAX_UPSTREAM_QUEUE,
  DEFAULT_PENDING_LIMIT,
  DEFAULT_PORT,
  DEFAULT_UPSTREAM_MAX_UNACKED,
  DEMO_SENDER,
  resolveConfig,
} from "./config.ts";
export type { ConnectionState, ConnectionView } from "./connection/connection.ts";
export type {
  DeviceDetail,
  DrainTarget,
  EmulatorControl,
  SenderStats,
  StatsView,
  UpstreamRequest,
} from "./control.ts";
export { UpstreamQueueFullError } from "./control.ts";
export type { DeviceView } from "./devices/device.ts";
export type { LedgerEntryView, LedgerSummary } from "./devices/ledger.ts";
export type { NewDevice } from "./devices/registry.ts";
export type { EmulatorState, RunningEmulator } from "./emulator.ts";
export { startEmulator } from "./emulator.ts";
export { EmulatorError, IllegalStateError, InvalidOptionError, NotFoundError } from "./errors.ts";
export type { FaultConfig, FaultView } from "./faults.ts";
export type { LatencyDistribution } from "./latency.ts";
export type { EmulatorLogger } from "./logger.ts";
export { jsonLineLogger, SILENT_LOGGER } from "./logger.ts";
export type { Counters } from "./stats.ts";
export { generateSelfSignedCertificate } from "./tls.ts";
