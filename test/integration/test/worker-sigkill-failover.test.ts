// Coordinated mode: worker B is SIGKILLed during traffic. Its slots are reassigned and owned again by A
// (coordinator /status, A's /status) within the lock TTL plus a few seconds; nothing is lost and
// duplicate arrivals stay within B's pending windows.

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

const NAME = "worker-sigkill-failover";
const SLOTS = 4;
const MESSAGES = 3_000;

describe(NAME, () => {
  it("a SIGKILLed worker's slots move to the survivor with nothing lost", async () => {
    const t0 = Date.now();
    const s = await startCoordinatedScenario({ name: NAME, prefix: "kill", slots: SLOTS });
    const { cluster, nc } = s;
    const admin = cluster.emulator.admin;
    const [a, b] = await Promise.all([
      cluster.startWorker("kill-a", { coordinated: true }),
      cluster.startWorker("kill-b", { coordinated: true }),
    ]);
    if (a === undefined || b === undefined) throw new Error("workers did not start");
    const before = await cluster.waitAllSlotsOwned(
      25_000,
      (rows) => rows.filter((r) => r.owner === "kill-b").length === SLOTS / 2,
      "slots split between A and B",
    );
    const bSlots = before.filter((r) => r.owner === "kill-b").map((r) => r.slot);
    const tokensBefore = new Map(before.map((r) => [r.slot, Number(r.fencingToken)]));
    const outcomes = await s.collectOutcomes(DEMO_SENDER_ID);

    let killedAt = 0;
    let failover:
      | Promise<{ rows: Awaited<ReturnType<typeof cluster.waitAllSlotsOwned>>; at: number }>
      | undefined;
    const ids = await publishDownstream(jetstream(nc), {
      senderId: DEMO_SENDER_ID,
      prefix: "kill",
      count: MESSAGES,
      durationMs: 6_000,
      onPublished: (done) => {
        if (done === Math.floor(MESSAGES / 3)) {
          killedAt = Date.now();
          void b.handle.kill("SIGKILL");
          // B's slots owned again by A: fresher fencing tokens, online.
          failover = cluster
            .waitAllSlotsOwned(
              TIMINGS.workerTtlMs + TIMINGS.slotLeaseTtlMs + 8_000,
              (rows) => rows.every((r) => r.owner === "kill-a"),
              "every slot owned by A",
            )
            .then((rows) => ({ rows, at: Date.now() }));
        }
      },
    });
    expect((await b.handle.exited).signal).toBe("SIGKILL");
    if (failover === undefined) throw new Error("B was not killed");
    const { rows: after, at } = await failover;
    const ownedAgainMs = at - killedAt;
    for (const slot of bSlots) {
      const row = after.find((r) => r.slot === slot);
      expect(Number(row?.fencingToken)).toBeGreaterThan(tokensBefore.get(slot) ?? 0);
    }
    await waitFor(async () => (await cluster.workerSlots(a))?.length === SLOTS, {
      timeoutMs: 5_000,
      description: "A's /status shows every slot",
    });
    // The registry forgets B after its heartbeat TTL.
    await waitFor(
      async () => {
        const st = await cluster.coordinatorStatus();
        return st?.workers.every((w) => w.workerId !== "kill-b");
      },
      { timeoutMs: TIMINGS.workerTtlMs + 5_000, description: "B gone from the coordinator's workers" },
    );
    // Bound from the issue: owned again within the lock TTL (after the heartbeat TTL) plus a few seconds.
    expect(ownedAgainMs).toBeLessThan(TIMINGS.workerTtlMs + TIMINGS.slotLeaseTtlMs + 5_000);

    await outcomes.waitForAll(ids, TIMINGS.ackWaitMs + 40_000);
    await waitDownstreamSettled(nc, DEMO_SENDER_ID, 20_000);
    assertExactlyOneOutcomeEach(outcomes, ids);
    const ledger = await assertLedger(admin, DEMO_SENDER_ID, ids, TIMINGS.windowSize * bSlots.length);
    const stats = await admin.stats();
    expect(stats.counters.pendingViolations).toBe(0);
    await admin.waitLive(DEMO_SENDER_ID, (l) => l.length === SLOTS, 15_000, `${SLOTS} live connections`);
    note(NAME, "done", {
      ms: Date.now() - t0,
      ownedAgainMs,
      byWorker: outcomes.byWorker(ids),
      duplicateArrivals: ledger.duplicateArrivals,
      unanswered: stats.counters.unanswered,
    });
  });
});
