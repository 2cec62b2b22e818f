import { headers } from "@nats-io/nats-core";
import { context, createTraceState, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, describe, expect, test } from "vitest";
import { extractTraceContext, injectTraceContext } from "../src/index.ts";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer("propagation-test");

afterAll(async () => {
  await provider.shutdown();
});

describe("trace context in NATS headers", () => {
  test("round-trips traceparent through real nats headers: same trace id, parent is the sender span", () => {
    const span = tracer.startSpan("publish");
    const sent = span.spanContext();
    const hdrs = headers();
    injectTraceContext(hdrs, trace.setSpan(ROOT_CONTEXT, span));
    span.end();

    expect(hdrs.get("traceparent")).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(hdrs.get("traceparent")).toContain(sent.traceId);

    const received = extractTraceContext(hdrs, ROOT_CONTEXT);
    const remote = trace.getSpanContext(received);
    expect(remote?.traceId).toBe(sent.traceId);
    expect(remote?.spanId).toBe(sent.spanId);
    expect(remote?.isRemote).toBe(true);

    // A consumer span started in the extracted context joins the same trace.
    const child = tracer.startSpan("consume", {}, received);
    expect(child.spanContext().traceId).toBe(sent.traceId);
    child.end();
    const [, consume] = exporter.getFinishedSpans();
    expect(consume?.parentSpanContext?.spanId).toBe(sent.spanId);
  });

  test("tracestate is carried too", () => {
    const span = tracer.startSpan("publish");
    const hdrs = headers();
    const withState = trace.setSpanContext(ROOT_CONTEXT, {
      ...span.spanContext(),
      traceState: createTraceState("ccs=abc,vendor=1"),
    });
    injectTraceContext(hdrs, withState);
    span.end();
    expect(hdrs.get("tracestate")).toBe("ccs=abc,vendor=1");
    const remote = trace.getSpanContext(extractTraceContext(hdrs, ROOT_CONTEXT));
    expect(remote?.traceState?.get("ccs")).toBe("abc");
  });

  test("no headers, or headers without traceparent, leave the base context unchanged", () => {
    expect(extractTraceContext(undefined, ROOT_CONTEXT)).toBe(ROOT_CONTEXT);
    const hdrs = headers();
    hdrs.set("x-other", "1");
    expect(trace.getSpanContext(extractTraceContext(hdrs, ROOT_CONTEXT))).toBeUndefined();
  });

  test("a malformed traceparent is ignored", () => {
    const hdrs = headers();
    hdrs.set("traceparent", "00-not-a-trace-01");
    expect(trace.getSpanContext(extractTraceContext(hdrs, ROOT_CONTEXT))).toBeUndefined();
  });

  test("injecting with no active span writes nothing", () => {
    const hdrs = headers();
    injectTraceContext(hdrs, context.active());
    expect(hdrs.has("traceparent")).toBe(false);
  });
});
