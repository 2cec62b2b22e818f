export { DEFAULT_INSTRUMENTATION_NAME, getMeter, getTracer } from "./api.ts";
export type { ExporterKind, TelemetryConfig } from "./config.ts";
export {
  DEFAULT_METRICS_EXPORT_INTERVAL_MS,
  DEFAULT_METRICS_EXPORTER,
  DEFAULT_TRACES_EXPORTER,
  EXPORTER_KINDS,
  loadTelemetryConfig,
  TelemetryEnv,
} from "./config.ts";
export { ConfigError } from "./errors.ts";
export type { LogLevel } from "./log-level.ts";
export { DEFAULT_LOG_LEVEL, isLogLevel, LOG_LEVELS } from "./log-level.ts";
export type { CreateLoggerOptions, LogFn, Logger, LogMethod, ServiceLogger } from "./logger.ts";
export {
  createLogger,
  DEFAULT_REDACT_PATHS,
  errorFields,
  REDACT_DEPTH,
  SECRET_FIELD_NAMES,
  silentLogger,
} from "./logger.ts";
export type { AttrKey, SpanName } from "./names.ts";
export { Attr, MessagingOperation, MessagingSystem, SpanNames } from "./names.ts";
export { extractTraceContext, injectTraceContext } from "./propagation.ts";
export type { StartTelemetryOptions, TelemetryHandle } from "./sdk.ts";
export { startTelemetry } from "./sdk.ts";
export { REDACTED, redactText, redactUrlCredentials, Secret } from "./secret.ts";
