// The emulator drains every connection of the sender (POST /drain {senderId}) twice during traffic.
// Nothing is lost: every message is acked exactly once, reached its device, and the sender's live
// connections come back to the configured count.
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

const NAME = "drain-all";
const CONNECTIONS_PER_WORKER = 2;
const WORKERS = 2;
const MESSAGES = 3_000;

describe(NAME, () => {
  // Static mode: each worker holds every connection of the sender (2 × 2). Coordinated mode: 4 slots
  // split over two workers by the leader; drains are reported as slot health and may move slots.
  it.each(["static", "coordinated"] as const)(
    "%s: draining every connection of a sender during traffic loses nothing",
    async (mode) => {
      const t0 = Date.now();
      const coordinated = mode === "coordinated";
      const total = WORKERS * CONNECTIONS_PER_WORKER;
      const s = await startScenario({
        name: `${NAME}-${mode}`,
        senders: [
          {
            senderId: DEMO_SENDER_ID,
            apiKey: DEMO_API_KEY,
            connections: coordinated ? total : CONNECTIONS_PER_WORKER,
          },
        ],
      });
      const { cluster, nc } = s;
      const admin = cluster.emulator.admin;
      if (coordinated) {
        await Promise.all([cluster.startCoordinator("drain-c1"), cluster.startCoordinator("drain-c2")]);
      }
      await Promise.all([
        cluster.startWorker("drain-a", { coordinated }),
        cluster.startWorker("drain-b", { coordinated }),
      ]);
      if (coordinated) {
        await cluster.waitAllSlotsOwned(
          25_000,
          (rows) => rows.filter((r) => r.owner === "drain-b").length === total / 2,
          "slots split between the workers",
        );
      }
      const before = await admin.waitLive(
        DEMO_SENDER_ID,
        (l) => l.length === total,
        20_000,
        "all connections live",
      );
      const outcomes = await s.collectOutcomes(DEMO_SENDER_ID);

      const drained: string[][] = [];
      const drains: Promise<void>[] = [];
      const ids = await publishDownstream(jetstream(nc), {
        senderId: DEMO_SENDER_ID,
        prefix: `dr-${mode}`,
        count: MESSAGES,
        durationMs: 6_000,
        onPublished: (done) => {
          if (done === Math.floor(MESSAGES / 3) || done === Math.floor((2 * MESSAGES) / 3)) {
            drains.push(admin.drain({ senderId: DEMO_SENDER_ID }).then((r) => void drained.push(r.drained)));
          }
        },
      });
      await Promise.all(drains);
      expect(drained).toHaveLength(2);
      for (const d of drained) expect(d.length).toBeGreaterThanOrEqual(total);
      expect(drained[0]?.sort()).toEqual(before.map((c) => c.id).sort());

      await outcomes.waitForAll(ids, TIMINGS.ackWaitMs + 40_000);
      await waitDownstreamSettled(nc, DEMO_SENDER_ID, 20_000);
      const report = assertExactlyOneOutcomeEach(outcomes, ids);
      expect(report.unexpected).toEqual([]);
      // Draining connections answer what is pending, so no message should reach a device twice.
      const ledger = await assertLedger(admin, DEMO_SENDER_ID, ids, 0);

      // Replacement connections: the count of live connections comes back, none of them a drained one.
      const drainedIds = new Set(drained.flat());
      const after = await admin.waitLive(
        DEMO_SENDER_ID,
        (l) => l.length === total && l.every((c) => !drainedIds.has(c.id)),
        20_000,
        "live connections back after the drains",
      );
      if (coordinated) {
        const rows = await cluster.waitAllSlotsOwned(
          15_000,
          () => true,
          "every slot owned and online after the drains",
        );
        expect(rows.map((r) => r.state)).toEqual(Array(total).fill("online"));
      }
      const stats = await admin.stats();
      expect(stats.counters.drainsSent).toBeGreaterThanOrEqual(2 * total);
      expect(stats.counters.pendingViolations).toBe(0);
      note(`${NAME}-${mode}`, "done", {
        ms: Date.now() - t0,
        drained,
        live: after.map((c) => c.id),
        drainingNacks: stats.counters.nacked.CONNECTION_DRAINING ?? 0,
        duplicateArrivals: ledger.duplicateArrivals,
        byWorker: outcomes.byWorker(ids),
      });
    },
  );
});
