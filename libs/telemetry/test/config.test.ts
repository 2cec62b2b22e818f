import { describe, expect, test } from "vitest";
import { ConfigError, loadTelemetryConfig } from "../src/index.ts";

describe("loadTelemetryConfig", () => {
  test("defaults: info, traces and metrics off", () => {
    expect(loadTelemetryConfig({}, "worker")).toEqual({
      serviceName: "worker",
      traces: "none",
      metrics: "none",
      logLevel: "info",
    });
  });

  test("reads every variable (case-insensitive kinds, trailing slash trimmed)", () => {
    const config = loadTelemetryConfig(
      {
        LOG_LEVEL: "DEBUG",
        CCS_TRACES_EXPORTER: "otlp",
        CCS_METRICS_EXPORTER: "Console",
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/",
        CCS_METRICS_EXPORT_INTERVAL_MS: "5000",
        CCS_SERVICE_VERSION: "1.2.3",
      },
      "coordinator",
    );
    expect(config).toEqual({
      serviceName: "coordinator",
      serviceVersion: "1.2.3",
      traces: "otlp",
      metrics: "console",
      otlpEndpoint: "http://collector:4318",
      metricsExportIntervalMs: 5000,
      logLevel: "debug",
    });
  });

  test("empty values count as unset", () => {
    expect(loadTelemetryConfig({ LOG_LEVEL: "", CCS_TRACES_EXPORTER: " " }, "w")).toMatchObject({
      logLevel: "info",
      traces: "none",
    });
  });

  test("invalid values give one typed ConfigError listing every problem", () => {
    let caught: unknown;
    try {
      loadTelemetryConfig(
        {
          LOG_LEVEL: "verbose",
          CCS_TRACES_EXPORTER: "jaeger",
          CCS_METRICS_EXPORTER: "prometheus",
          OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318 with-user:s3cr3t",
          CCS_METRICS_EXPORT_INTERVAL_MS: "-1",
        },
        "worker",
      );
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.issues).toHaveLength(5);
    expect(error.message).toContain(
      "LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent",
    );
    expect(error.message).toContain('CCS_TRACES_EXPORTER must be one of none, otlp, console (got "jaeger")');
    expect(error.message).toContain("CCS_METRICS_EXPORTER");
    expect(error.message).toContain("OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL");
    expect(error.message).not.toContain("s3cr3t");
    expect(error.message).toContain("CCS_METRICS_EXPORT_INTERVAL_MS");
  });

  test("an empty service name is rejected", () => {
    expect(() => loadTelemetryConfig({}, " ")).toThrow(ConfigError);
  });
});
