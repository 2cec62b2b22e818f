// Coordinated mode: two coordinators and worker A, which gets every slot; worker B joins during traffic
// and gets its share (make-before-break moves). Every message published during the join is acked
// exactly once and reached its device.

import { waitFor } from "@ccs/testkit";
import { jetstream } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { DEMO_SENDER_ID, TIMINGS } from "../support/cluster.ts";
import { note, startCoordinatedScenario } from "../support/scenario.ts";
import {
  assertExactlyOneOutcomeEach,
  assertLedger,
  publishDownstream,
  waitDownstreamSettled,
} from "../support/traffic.ts";

const NAME = "worker-join";
const SLOTS = 4;
const MESSAGES = 3_000;

describe(NAME, () => {
  it("a joining worker gets its share of the slots and traffic during the join is acked exactly once", async () => {
    const t0 = Date.now();
    const s = await startCoordinatedScenario({ name: NAME, prefix: "join", slots: SLOTS });
    const { cluster, nc } = s;
    const admin = cluster.emulator.admin;
    const a = await cluster.startWorker("join-a", { coordinated: true, capacity: 16 });
    const initial = await cluster.waitAllSlotsOwned(
      20_000,
      (rows) => rows.every((r) => r.owner === "join-a"),
      "worker A owns every slot",
    );
    expect(await cluster.workerSlots(a)).toHaveLength(SLOTS);
    const tokensBefore = new Map(initial.map((r) => [r.slot, Number(r.fencingToken)]));
    const outcomes = await s.collectOutcomes(DEMO_SENDER_ID);
    note(NAME, "A owns every slot", { ms: Date.now() - t0 });

    let joinedAt = 0;
    let joined:
      | Promise<{ rows: Awaited<ReturnType<typeof cluster.waitAllSlotsOwned>>; at: number }>
      | undefined;
    const ids = await publishDownstream(jetstream(nc), {
      senderId: DEMO_SENDER_ID,
      prefix: "join",
      count: MESSAGES,
      durationMs: 8_000,
      onPublished: (done) => {
        if (done === Math.floor(MESSAGES / 5)) {
          joinedAt = Date.now();
          // Capacity-proportional: equal capacities => 2 slots each, all owned and online again.
          joined = cluster
            .startWorker("join-b", { coordinated: true, capacity: 16 })
            .then(() =>
              cluster
                .waitAllSlotsOwned(
                  TIMINGS.slotLeaseTtlMs + 15_000,
                  (rows) => rows.filter((r) => r.owner === "join-b").length === SLOTS / 2,
                  "worker B owns its share",
                )
                .then((rows) => ({ rows, at: Date.now() })),
            );
        }
      },
    });
    if (joined === undefined) throw new Error("worker B was not started");
    const { rows: shared, at: movedAt } = await joined;
    const b = cluster.workers().find((w) => w.id === "join-b");
    if (b === undefined) throw new Error("worker B did not start");
    const bSlots = await waitFor(
      async () => {
        const slots = await cluster.workerSlots(b);
        return slots?.length === SLOTS / 2 ? slots : undefined;
      },
      { timeoutMs: 10_000, description: "worker B's /status shows its slots" },
    );
    expect(await b.readyz()).toBe(200);
    const aSlots = await cluster.workerSlots(a);
    expect(aSlots).toHaveLength(SLOTS / 2);
    expect(new Set([...(aSlots ?? []), ...bSlots]).size).toBe(SLOTS);
    for (const row of shared) {
      if (row.owner === "join-b")
        expect(Number(row.fencingToken)).toBeGreaterThan(tokensBefore.get(row.slot) ?? 0);
    }
    expect(b.log.records("slot acquired").length).toBeGreaterThanOrEqual(SLOTS / 2);
    expect(a.log.records("slot lost").length).toBeGreaterThanOrEqual(SLOTS / 2);

    // More traffic once B holds its share: it must flow through both workers.
    const phase2 = await publishDownstream(jetstream(nc), {
      senderId: DEMO_SENDER_ID,
      prefix: "join2",
      count: 600,
      durationMs: 1_500,
    });
    ids.push(...phase2);
    await outcomes.waitForAll(ids, TIMINGS.ackWaitMs + 40_000);
    await waitDownstreamSettled(nc, DEMO_SENDER_ID, 20_000);
    assertExactlyOneOutcomeEach(outcomes, ids);
    const byWorker = outcomes.byWorker(ids);
    const phase2ByWorker = outcomes.byWorker(phase2);
    expect(phase2ByWorker["join-b"] ?? 0).toBeGreaterThan(0);
    expect(phase2ByWorker["join-a"] ?? 0).toBeGreaterThan(0);
    // A planned move lets pending sends finish: no message should reach a device twice.
    const ledger = await assertLedger(admin, DEMO_SENDER_ID, ids, 0);
    const live = await admin.waitLive(
      DEMO_SENDER_ID,
      (l) => l.length === SLOTS,
      15_000,
      `${SLOTS} live connections`,
    );
    const stats = await admin.stats();
    expect(stats.counters.pendingViolations).toBe(0);
    note(NAME, "done", {
      ms: Date.now() - t0,
      joinToShareMs: movedAt - joinedAt,
      byWorker,
      duplicateArrivals: ledger.duplicateArrivals,
      live: live.length,
      unanswered: stats.counters.unanswered,
    });
  });
});
