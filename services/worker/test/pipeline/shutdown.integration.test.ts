import type { ServerHandle } from "@ccs/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Harness, startTestNats } from "./support/harness.ts";

let nats: ServerHandle;

beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.dispose();
});

describe("graceful shutdown", () => {
  it("finishes sends in flight, hands back unsent work at once, and another worker takes it", async () => {
    const release: Array<() => void> = [];
    const a = await Harness.start(nats.url, {
      senders: [{ senderId: "701", connections: 1 }],
      windowSize: 4,
      config: { retry: { serviceUnavailable: { baseMs: 30_000, maxMs: 30_000, maxRetries: 3 } } },
      script: (req) =>
        req.message_id.startsWith("wait")
          ? { kind: "nack", code: "SERVICE_UNAVAILABLE" }
          : new Promise((resolve) => release.push(() => resolve({ kind: "ack" }))),
    });
    let b: Harness | undefined;
    try {
      await a.publishMany("701", 2, "wait");
      await a.waitFor(() => a.metrics.get("retries") === 2, "two retries waiting");
      await a.publishMany("701", 2, "fly");
      await a.waitFor(() => release.length === 2, "two sends in flight");
      await a.publishMany("701", 10, "rest");
      // The budget is full (2 waiting + 2 in flight = window 4): nothing else was fetched.
      expect(a.metrics.get("fetched")).toBe(4);

      const closing = a.pipeline.close();
      await a.waitFor(() => a.metrics.get("handed_back") >= 2, "waiting messages handed back");
      for (const r of release.splice(0)) r();
      await closing;
      expect(a.pipeline.state).toBe("stopped");
      expect(a.outcomes.map((o) => o.message_id).sort()).toEqual(["fly-0", "fly-1"]);

      b = await Harness.start(nats.url, {
        prefix: a.config.subjectPrefix,
        senders: [{ senderId: "701", connections: 1 }],
      });
      // ack_wait is 30 s: getting them within 10 s shows they were handed back (nak), not timed out.
      await a.waitFor(() => a.outcomes.length === 14, "all 14 outcomes", 10_000);
      const ids = a.outcomes.map((o) => o.message_id);
      expect(new Set(ids).size).toBe(14);
      expect(b.outcomeFor("wait-0")[0]).toMatchObject({ status: "acked", deliveries: 2 });
      const bh = b;
      await b.waitFor(async () => (await bh.downStreamMessages()) === 0, "down stream empty");
    } finally {
      await a.close();
      await b?.close();
    }
  });

  it("close() is idempotent", async () => {
    const h = await Harness.start(nats.url, { senders: [{ senderId: "702", connections: 1 }] });
    const p1 = h.pipeline.close();
    const p2 = h.pipeline.close();
    expect(p1).toBe(p2);
    await p1;
    await h.close();
  });
});
