import { trace } from "@opentelemetry/api";
import { AggregationTemporality, InMemoryMetricExporter } from "@opentelemetry/sdk-metrics";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, test, vi } from "vitest";
import { getMeter, getTracer, SpanNames, startTelemetry, type TelemetryConfig } from "../src/index.ts";

const off: TelemetryConfig = { serviceName: "test-svc", traces: "none", metrics: "none", logLevel: "info" };

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe("startTelemetry", () => {
  test("everything off starts nothing; shutdown is idempotent", async () => {
    const handle = await startTelemetry(off);
    expect(handle.enabled).toBe(false);
    const span = getTracer().startSpan("x");
    expect(span.isRecording()).toBe(false);
    span.end();
    await handle.flush();
    await handle.shutdown();
    await handle.shutdown();
  });

  test("spans reach the configured exporter with the service resource; shutdown unregisters", async () => {
    const exporter = new InMemorySpanExporter();
    const handle = await startTelemetry(
      { ...off, traces: "otlp", serviceVersion: "9.9.9" },
      { traceExporter: exporter },
    );
    expect(handle.enabled).toBe(true);
    const span = getTracer().startSpan(SpanNames.ccsSend);
    expect(span.isRecording()).toBe(true);
    span.setAttribute("ccs.message_id", "m-1");
    span.end();
    await handle.flush();
    const [exported] = exporter.getFinishedSpans();
    expect(exported?.name).toBe("ccs.send");
    expect(exported?.attributes["ccs.message_id"]).toBe("m-1");
    expect(exported?.resource.attributes["service.name"]).toBe("test-svc");
    expect(exported?.resource.attributes["service.version"]).toBe("9.9.9");

    await Promise.all([handle.shutdown(), handle.shutdown()]);
    expect(getTracer().startSpan("after").isRecording()).toBe(false);
  });

  test("the console exporter prints finished spans", async () => {
    const dir = vi.spyOn(console, "dir").mockImplementation(() => undefined);
    const handle = await startTelemetry({ ...off, traces: "console" });
    try {
      getTracer().startSpan(SpanNames.natsPublish).end();
      await handle.flush();
      const printed = dir.mock.calls.map(([arg]) => arg as { name?: string });
      expect(printed.some((info) => info.name === "nats.publish")).toBe(true);
    } finally {
      await handle.shutdown();
    }
  });

  test("metrics reach the exporter; OTEL_* variables cannot turn traces on behind the config", async () => {
    vi.stubEnv("OTEL_TRACES_EXPORTER", "console");
    const dir = vi.spyOn(console, "dir").mockImplementation(() => undefined);
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const handle = await startTelemetry({ ...off, metrics: "otlp" }, { metricExporter: exporter });
    try {
      getMeter().createCounter("ccs.sent").add(3);
      const span = getTracer().startSpan("not-traced");
      expect(span.isRecording()).toBe(false);
      span.end();
      await handle.flush();
      const names = exporter
        .getMetrics()
        .flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.map((m) => m.descriptor.name)));
      expect(names).toContain("ccs.sent");
      expect(dir).not.toHaveBeenCalled();
    } finally {
      await handle.shutdown();
    }
  });

  test("a second start after shutdown works (globals were released)", async () => {
    const first = new InMemorySpanExporter();
    const h1 = await startTelemetry({ ...off, traces: "otlp" }, { traceExporter: first });
    await h1.shutdown();
    const second = new InMemorySpanExporter();
    const h2 = await startTelemetry({ ...off, traces: "otlp" }, { traceExporter: second });
    try {
      getTracer().startSpan("again").end();
      await h2.flush();
      expect(second.getFinishedSpans().map((s) => s.name)).toEqual(["again"]);
      expect(trace.getActiveSpan()).toBeUndefined();
    } finally {
      await h2.shutdown();
    }
  });
});
