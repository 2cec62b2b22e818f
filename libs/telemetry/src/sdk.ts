import { context, metrics, propagation, trace } from "@opentelemetry/api";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  ConsoleMetricExporter,
  type IMetricReader,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
} from "@opentelemetry/sdk-metrics";
import { NodeSDK } from "@opentelemetry/sdk-node";
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import { DEFAULT_METRICS_EXPORT_INTERVAL_MS, type TelemetryConfig } from "./config.ts";

export interface TelemetryHandle {
  /** True when an SDK was started (traces or metrics on). */
  readonly enabled: boolean;
  /** Exports everything buffered so far (spans, metrics). */
  flush(): Promise<void>;
  /** Flushes, stops the SDK and unregisters the global providers. Idempotent. */
  shutdown(): Promise<void>;
}

/** Test and embedding seams: replace the exporter a configured kind would create. */
export interface StartTelemetryOptions {
  /** Used instead of the OTLP/console span exporter when `config.traces` is not "none". */
  readonly traceExporter?: SpanExporter;
  /** Used instead of the OTLP/console metric exporter when `config.metrics` is not "none". */
  readonly metricExporter?: PushMetricExporter;
}

const NOOP_HANDLE: TelemetryHandle = Object.freeze({
  enabled: false,
  flush: async () => undefined,
  shutdown: async () => undefined,
});

/**
 * Starts the OpenTelemetry Node SDK with the exporters chosen by `config`. With traces and metrics both
 * "none" (the default) nothing is started or registered and a no-op handle is returned. The SDK is
 * given explicit (possibly empty) processor and reader lists, so OTEL_* exporter variables cannot turn
 * anything on behind the configuration's back.
 */
export async function startTelemetry(
  config: TelemetryConfig,
  options: StartTelemetryOptions = {},
): Promise<TelemetryHandle> {
  if (config.traces === "none" && config.metrics === "none") {
    return NOOP_HANDLE;
  }
  const spanProcessors = createSpanProcessors(config, options);
  const metricReaders = createMetricReaders(config, options);
  const sdk = new NodeSDK({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: config.serviceName,
      ...(config.serviceVersion !== undefined ? { [ATTR_SERVICE_VERSION]: config.serviceVersion } : {}),
    }),
    serviceName: config.serviceName,
    spanProcessors,
    metricReaders,
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();

  const flush = async (): Promise<void> => {
    await Promise.all([
      ...spanProcessors.map((p) => p.forceFlush()),
      ...metricReaders.map((r) => r.forceFlush()),
    ]);
  };
  let stopping: Promise<void> | undefined;
  return {
    enabled: true,
    flush,
    shutdown: () => {
      stopping ??= (async () => {
        try {
          await sdk.shutdown();
        } finally {
          // Unregister globals so the process is back to no-op telemetry (and a later start works).
          trace.disable();
          metrics.disable();
          propagation.disable();
          context.disable();
        }
      })();
      return stopping;
    },
  };
}

function createSpanProcessors(config: TelemetryConfig, options: StartTelemetryOptions): SpanProcessor[] {
  if (config.traces === "none") {
    return [];
  }
  if (options.traceExporter !== undefined) {
    return [new BatchSpanProcessor(options.traceExporter)];
  }
  if (config.traces === "console") {
    return [new SimpleSpanProcessor(new ConsoleSpanExporter())];
  }
  const url = config.otlpEndpoint !== undefined ? `${config.otlpEndpoint}/v1/traces` : undefined;
  return [new BatchSpanProcessor(new OTLPTraceExporter(url !== undefined ? { url } : {}))];
}

function createMetricReaders(config: TelemetryConfig, options: StartTelemetryOptions): IMetricReader[] {
  if (config.metrics === "none") {
    return [];
  }
  const url = config.otlpEndpoint !== undefined ? `${config.otlpEndpoint}/v1/metrics` : undefined;
  const exporter =
    options.metricExporter ??
    (config.metrics === "console"
      ? new ConsoleMetricExporter()
      : new OTLPMetricExporter(url !== undefined ? { url } : {}));
  return [
    new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: config.metricsExportIntervalMs ?? DEFAULT_METRICS_EXPORT_INTERVAL_MS,
    }),
  ];
}
