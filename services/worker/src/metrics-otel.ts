/**
 * Sends the worker's counters to OpenTelemetry through @ccs/telemetry's meter (a no-op unless
 * startTelemetry turned metrics on). Names: `ccs.worker.<metric>`; the label goes to an attribute.
 */
import { Attr, getMeter } from "@ccs/telemetry";
import { Metric, type MetricsSink } from "./metrics.ts";

type Meter = ReturnType<typeof getMeter>;
type Counter = ReturnType<Meter["createCounter"]>;
type Histogram = ReturnType<Meter["createHistogram"]>;

function labelAttribute(metric: Metric): string {
  switch (metric) {
    case Metric.Nacked:
    case Metric.Rejected:
      return Attr.nackCode;
    case Metric.UpstreamPersisted:
    case Metric.UpstreamAcked:
    case Metric.UpstreamAckDropped:
      return Attr.messageType;
    default:
      return "ccs.reason";
  }
}

export function otelMetricsSink(meter: Meter = getMeter("ccs-worker")): MetricsSink {
  const counters = new Map<Metric, Counter>();
  const histograms = new Map<string, Histogram>();
  return {
    add(metric, n, label) {
      let c = counters.get(metric);
      if (c === undefined) {
        c = meter.createCounter(`ccs.worker.${metric}`);
        counters.set(metric, c);
      }
      c.add(n, label === undefined ? {} : { [labelAttribute(metric)]: label });
    },
    record(name, ms) {
      let h = histograms.get(name);
      if (h === undefined) {
        h = meter.createHistogram(`ccs.worker.${name}`, { unit: "ms" });
        histograms.set(name, h);
      }
      h.record(ms);
    },
  };
}
