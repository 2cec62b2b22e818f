import { ConfigError } from "./errors.ts";
import { DEFAULT_LOG_LEVEL, isLogLevel, LOG_LEVELS, type LogLevel } from "./log-level.ts";

export const EXPORTER_KINDS = ["none", "otlp", "console"] as const;
export type ExporterKind = (typeof EXPORTER_KINDS)[number];

/** Telemetry is off unless configured. */
export const DEFAULT_TRACES_EXPORTER: ExporterKind = "none";
export const DEFAULT_METRICS_EXPORTER: ExporterKind = "none";
/** How often metrics are pushed when a metrics exporter is on. */
export const DEFAULT_METRICS_EXPORT_INTERVAL_MS = 60_000;

/** Environment variables read by {@link loadTelemetryConfig}. */
export const TelemetryEnv = {
  logLevel: "LOG_LEVEL",
  tracesExporter: "CCS_TRACES_EXPORTER",
  metricsExporter: "CCS_METRICS_EXPORTER",
  metricsIntervalMs: "CCS_METRICS_EXPORT_INTERVAL_MS",
  otlpEndpoint: "OTEL_EXPORTER_OTLP_ENDPOINT",
  serviceVersion: "CCS_SERVICE_VERSION",
} as const;

export interface TelemetryConfig {
  readonly serviceName: string;
  readonly serviceVersion?: string;
  readonly traces: ExporterKind;
  readonly metrics: ExporterKind;
  /** Base URL of an OTLP/HTTP collector (e.g. http://localhost:4318); exporters append /v1/traces, /v1/metrics. */
  readonly otlpEndpoint?: string;
  /** Default {@link DEFAULT_METRICS_EXPORT_INTERVAL_MS}. */
  readonly metricsExportIntervalMs?: number;
  readonly logLevel: LogLevel;
}

function read(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw === undefined || raw === "" ? undefined : raw;
}

function exporterKind(value: string): value is ExporterKind {
  return (EXPORTER_KINDS as readonly string[]).includes(value);
}

/**
 * Reads telemetry settings from the environment (see README). Unset or empty variables take their
 * defaults; every invalid value is reported in one {@link ConfigError}. Secret-free by construction:
 * error messages quote only these non-secret variables.
 */
export function loadTelemetryConfig(env: NodeJS.ProcessEnv, serviceName: string): TelemetryConfig {
  const issues: string[] = [];
  if (serviceName.trim() === "") {
    issues.push("serviceName must not be empty");
  }

  const rawLevel = read(env, TelemetryEnv.logLevel)?.toLowerCase();
  let logLevel: LogLevel = DEFAULT_LOG_LEVEL;
  if (rawLevel !== undefined) {
    if (isLogLevel(rawLevel)) {
      logLevel = rawLevel;
    } else {
      issues.push(
        `${TelemetryEnv.logLevel} must be one of ${LOG_LEVELS.join(", ")} (got ${JSON.stringify(rawLevel)})`,
      );
    }
  }

  const exporter = (name: string, fallback: ExporterKind): ExporterKind => {
    const raw = read(env, name)?.toLowerCase();
    if (raw === undefined) {
      return fallback;
    }
    if (exporterKind(raw)) {
      return raw;
    }
    issues.push(`${name} must be one of ${EXPORTER_KINDS.join(", ")} (got ${JSON.stringify(raw)})`);
    return fallback;
  };
  const traces = exporter(TelemetryEnv.tracesExporter, DEFAULT_TRACES_EXPORTER);
  const metrics = exporter(TelemetryEnv.metricsExporter, DEFAULT_METRICS_EXPORTER);

  const otlpEndpoint = read(env, TelemetryEnv.otlpEndpoint);
  if (otlpEndpoint !== undefined && !isHttpUrl(otlpEndpoint)) {
    // Do not echo the value: an endpoint URL may carry credentials.
    issues.push(`${TelemetryEnv.otlpEndpoint} must be an http:// or https:// URL`);
  }

  const rawInterval = read(env, TelemetryEnv.metricsIntervalMs);
  let metricsExportIntervalMs: number | undefined;
  if (rawInterval !== undefined) {
    const parsed = Number(rawInterval);
    if (Number.isInteger(parsed) && parsed > 0) {
      metricsExportIntervalMs = parsed;
    } else {
      issues.push(
        `${TelemetryEnv.metricsIntervalMs} must be a positive integer (got ${JSON.stringify(rawInterval)})`,
      );
    }
  }

  if (issues.length > 0) {
    throw new ConfigError(issues);
  }
  const serviceVersion = read(env, TelemetryEnv.serviceVersion);
  return {
    serviceName,
    ...(serviceVersion !== undefined ? { serviceVersion } : {}),
    traces,
    metrics,
    ...(otlpEndpoint !== undefined ? { otlpEndpoint: otlpEndpoint.replace(/\/+$/, "") } : {}),
    ...(metricsExportIntervalMs !== undefined ? { metricsExportIntervalMs } : {}),
    logLevel,
  };
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    // Not parseable as a URL at all.
    return false;
  }
}
