// Static mode: two workers each hold every connection of the sender; one is SIGKILLed mid-flight.
// Nothing is lost: every published message gets exactly one outcome (acked), every message reached its
// device, and duplicate arrivals stay within the killed worker's pending windows.
import { jetstream } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { DEMO_API_KEY, DEMO_SENDER_ID, TIMINGS } from "../support/cluster.ts";
import { note, startScenario } from "../support/scenario.ts";
import {
  assertExactlyOneOutcomeEach,
  assertLedger,
  publishDownstream,
  waitDownstreamSettled,
} from "../support/traffic.ts";

const NAME = "static-worker-sigkill";
const CONNECTIONS_PER_WORKER = 2;
const MESSAGES = 3_000;

describe(NAME, () => {
  it("a SIGKILLed static worker loses nothing; duplicates stay within its pending windows", async () => {
    const t0 = Date.now();
    const { cluster, nc, collectOutcomes } = await startScenario({
      name: NAME,
      senders: [{ senderId: DEMO_SENDER_ID, apiKey: DEMO_API_KEY, connections: CONNECTIONS_PER_WORKER }],
    });
    const admin = cluster.emulator.admin;
    const [a, b] = await Promise.all([cluster.startWorker("static-a"), cluster.startWorker("static-b")]);
    if (a === undefined || b === undefined) throw new Error("workers did not start");
    // Both workers logged in all their connections.
    await admin.waitLive(
      DEMO_SENDER_ID,
      (l) => l.length === 2 * CONNECTIONS_PER_WORKER,
      20_000,
      "all connections live",
    );
    const outcomes = await collectOutcomes(DEMO_SENDER_ID);
    const js = jetstream(nc);

    let killedAt = 0;
    const ids = await publishDownstream(js, {
      senderId: DEMO_SENDER_ID,
      prefix: "sk",
      count: MESSAGES,
      durationMs: 5_000,
      onPublished: (done) => {
        if (done === Math.floor(MESSAGES / 3)) {
          killedAt = Date.now();
          void b.handle.kill("SIGKILL");
        }
      },
    });
    expect(killedAt).toBeGreaterThan(0);
    const exit = await b.handle.exited;
    expect(exit.signal).toBe("SIGKILL");
    note(NAME, "published; worker b killed", {
      sinceKillMs: Date.now() - killedAt,
      byWorkerSoFar: outcomes.byWorker(ids),
    });

    // Un-acked work of the killed worker comes back after ack_wait; the rest flows through a.
    await outcomes.waitForAll(ids, TIMINGS.ackWaitMs + 40_000);
    await waitDownstreamSettled(nc, DEMO_SENDER_ID, 20_000);
    const report = assertExactlyOneOutcomeEach(outcomes, ids);
    expect(report.unexpected).toEqual([]);
    const byWorker = outcomes.byWorker(ids);
    expect(byWorker["static-a"] ?? 0).toBeGreaterThan(0);
    expect(byWorker["static-b"] ?? 0).toBeGreaterThan(0);

    const ledger = await assertLedger(
      admin,
      DEMO_SENDER_ID,
      ids,
      TIMINGS.windowSize * CONNECTIONS_PER_WORKER,
    );
    const stats = await admin.stats();
    expect(stats.counters.pendingViolations).toBe(0);
    expect(a.exited).toBe(false);
    note(NAME, "done", {
      ms: Date.now() - t0,
      byWorker,
      duplicateArrivals: ledger.duplicateArrivals,
      unanswered: stats.counters.unanswered,
      acked: stats.counters.acked,
    });
  });
});
