import { Match, type MsgHdrs } from "@nats-io/nats-core";
import {
  type Context,
  context as contextApi,
  type TextMapGetter,
  type TextMapSetter,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";

/**
 * W3C Trace Context (`traceparent`, `tracestate`) is used directly rather than through the global
 * propagator, so headers carry trace context the same way whether or not the SDK was started.
 */
const propagator = new W3CTraceContextPropagator();

const setter: TextMapSetter<MsgHdrs> = {
  set(carrier, key, value) {
    carrier.set(key, value);
  },
};

const getter: TextMapGetter<MsgHdrs> = {
  keys(carrier) {
    return carrier.keys();
  },
  get(carrier, key) {
    return carrier.has(key, Match.IgnoreCase) ? carrier.values(key, Match.IgnoreCase) : undefined;
  },
};

/** Writes `traceparent`/`tracestate` for the span in `ctx` (default: the active context) into NATS headers. */
export function injectTraceContext(headers: MsgHdrs, ctx: Context = contextApi.active()): void {
  propagator.inject(ctx, headers, setter);
}

/**
 * Returns `base` (default: the active context) with the remote span context found in the headers, or
 * `base` unchanged when there are no headers or no valid `traceparent`.
 */
export function extractTraceContext(
  headers: MsgHdrs | undefined,
  base: Context = contextApi.active(),
): Context {
  if (headers === undefined) {
    return base;
  }
  return propagator.extract(base, headers, getter);
}
