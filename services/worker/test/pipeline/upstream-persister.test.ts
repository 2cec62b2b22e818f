// The upstream persister's rules, with a scripted JetStream publish: ACK only after the publish was
// acknowledged; keep retrying while the carrying connection is open; stop when it closes (CCS resends on
// a new connection); at shutdown, abandon (close the connection) instead of leaving a message stuck.
import { silentLogger } from "@ccs/telemetry";
import { describe, expect, it, vi } from "vitest";
import type { UpstreamDelivery } from "../../src/connection/contract.ts";
import { Metric, WorkerMetrics } from "../../src/metrics.ts";
import { UpstreamPersister } from "../../src/pipeline/upstream-persister.ts";

interface TestDelivery {
  readonly delivery: UpstreamDelivery;
  readonly ack: ReturnType<typeof vi.fn<() => boolean>>;
  readonly abandon: ReturnType<typeof vi.fn<(reason: string) => void>>;
  /** Closes the "connection" that carried it. */
  close(): void;
}

function testDelivery(messageId = "1"): TestDelivery {
  const life = new AbortController();
  const ack = vi.fn(() => !life.signal.aborted);
  const abandon = vi.fn((_reason: string) => life.abort());
  return {
    delivery: {
      kind: "upstream",
      senderId: "s1",
      connectionId: "c1",
      from: "dev",
      messageId,
      payloadJson: "{}",
      receivedAt: Date.now(),
      signal: life.signal,
      ack,
      abandon,
    },
    ack,
    abandon,
    close: () => life.abort(),
  };
}

function persister(publish: () => Promise<unknown>, metrics = new WorkerMetrics()): UpstreamPersister {
  return new UpstreamPersister({
    js: { publish } as never,
    subjectFor: (s) => `ccs.internal.up.${s}`,
    workerId: "w",
    metrics,
    logger: silentLogger,
    retryMs: 1,
    retryMaxMs: 4,
  });
}

/** A publish that fails `failures` times, then succeeds; counts its calls. */
function flakyPublish(failures: number) {
  let calls = 0;
  const publish = vi.fn(async () => {
    calls++;
    if (calls <= failures) throw new Error("no responders available for request");
    return { seq: calls };
  });
  return publish;
}

describe("upstream persister", () => {
  it("ACKs to CCS only after the publish was acknowledged, with the stream de-duplication id", async () => {
    let resolvePublish: (() => void) | undefined;
    const publish = vi.fn(() => new Promise<void>((r) => (resolvePublish = r)));
    const t = testDelivery();
    const p = persister(publish);
    const done = p.persist(t.delivery);
    await new Promise((r) => setImmediate(r));
    expect(publish).toHaveBeenCalledTimes(1);
    expect(t.ack).not.toHaveBeenCalled();
    resolvePublish?.();
    await done;
    expect(t.ack).toHaveBeenCalledTimes(1);
    expect(publish.mock.calls[0]).toEqual([
      "ccs.internal.up.s1",
      "{}",
      expect.objectContaining({ msgID: "s1:upstream:dev:1" }),
    ]);
  });

  it("keeps retrying while the connection is open and ACKs once JetStream accepts, on the same connection", async () => {
    const metrics = new WorkerMetrics();
    const publish = flakyPublish(12);
    const t = testDelivery();
    await persister(publish, metrics).persist(t.delivery);
    expect(publish).toHaveBeenCalledTimes(13);
    expect(t.ack).toHaveBeenCalledTimes(1);
    expect(t.abandon).not.toHaveBeenCalled();
    expect(metrics.get(Metric.UpstreamPersistErrors)).toBe(12);
    expect(metrics.get(Metric.UpstreamPersisted)).toBe(1);
  });

  it("stops retrying when the connection closes: never ACKs what it could not persist, leaves it to CCS", async () => {
    const metrics = new WorkerMetrics();
    const publish = vi.fn(() => Promise.reject(new Error("timeout")));
    const t = testDelivery();
    const p = persister(publish, metrics);
    p.accept(t.delivery);
    await vi.waitFor(() => expect(publish.mock.calls.length).toBeGreaterThanOrEqual(3));
    t.close();
    await vi.waitFor(() => expect(p.inFlight).toBe(0));
    const calls = publish.mock.calls.length;
    expect(t.ack).not.toHaveBeenCalled();
    expect(t.abandon).not.toHaveBeenCalled();
    expect(metrics.get(Metric.UpstreamLeftToCcs)).toBe(1);
    await new Promise((r) => setTimeout(r, 20)); // several retry periods (4 ms max)
    expect(publish.mock.calls.length).toBe(calls);
  });

  it("a publish that fails after its connection closed ends at once, without a backoff wait", async () => {
    const t = testDelivery();
    const publish = vi.fn(async () => {
      t.close(); // the connection closes while the publish is in flight
      throw new Error("timeout");
    });
    const p = new UpstreamPersister({
      js: { publish } as never,
      subjectFor: (s) => s,
      workerId: "w",
      metrics: new WorkerMetrics(),
      logger: silentLogger,
      retryMs: 60_000,
      retryMaxMs: 60_000,
    });
    const started = Date.now();
    await p.persist(t.delivery);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(publish).toHaveBeenCalledTimes(1);
    expect(t.ack).not.toHaveBeenCalled();
  });

  it("at shutdown abandons what is still waiting: its connection is closed so that CCS resends it", async () => {
    const metrics = new WorkerMetrics();
    const publish = vi.fn(() => Promise.reject(new Error("no responders")));
    const waiting = testDelivery("w");
    const p = persister(publish, metrics);
    p.accept(waiting.delivery);
    await vi.waitFor(() => expect(publish).toHaveBeenCalled());
    await p.close();
    expect(p.state).toBe("closed");
    expect(waiting.abandon).toHaveBeenCalledTimes(1);
    expect(waiting.ack).not.toHaveBeenCalled();
    expect(metrics.get(Metric.UpstreamAbandoned)).toBe(1);
    // A message arriving after close is abandoned at once, not left un-ACKed on an open connection.
    const late = testDelivery("late");
    p.accept(late.delivery);
    await vi.waitFor(() => expect(late.abandon).toHaveBeenCalledTimes(1));
    expect(late.ack).not.toHaveBeenCalled();
  });
});
