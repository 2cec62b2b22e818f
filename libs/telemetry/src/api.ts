import { type Meter, metrics, type Tracer, trace } from "@opentelemetry/api";

/** Instrumentation scope used when a caller does not name one. */
export const DEFAULT_INSTRUMENTATION_NAME = "ccs-cluster";

/** A tracer from the global provider (a no-op until `startTelemetry` turns traces on). */
export function getTracer(name: string = DEFAULT_INSTRUMENTATION_NAME, version?: string): Tracer {
  return trace.getTracer(name, version);
}

/** A meter from the global provider (a no-op until `startTelemetry` turns metrics on). */
export function getMeter(name: string = DEFAULT_INSTRUMENTATION_NAME, version?: string): Meter {
  return metrics.getMeter(name, version);
}
