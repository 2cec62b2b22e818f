// Three Redis nodes, one is SIGKILLed during traffic: slot locks and the leader lease hold on the
// remaining majority (no slot lost, same fencing tokens, same leader, leases keep being renewed), a new
// worker still gets slots, and every message is acked exactly once.

import { waitFor } from "@ccs/testkit";
import { jetstream } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { type CoordinatorStatus, DEMO_SENDER_ID, TIMINGS, type WorkerStatus } from "../support/cluster.ts";
import { note, startCoordinatedScenario } from "../support/scenario.ts";
import {
  assertExactlyOneOutcomeEach,
  assertLedger,
  assertNoPendingViolations,
  publishDownstream,
  waitDownstreamSettled,
} from "../support/traffic.ts";

const NAME = "redis-quorum";
const SLOTS = 4;
const MESSAGES = 3_000;

describe(NAME, () => {
  it("one of three Redis nodes dies and locks hold", async () => {
    const t0 = Date.now();
    const s = await startCoordinatedScenario({ name: NAME, prefix: "rq", slots: SLOTS, redisNodes: 3 });
    const { cluster, nc } = s;
    const admin = cluster.emulator.admin;
    const a = await cluster.startWorker("rq-a", { coordinated: true });
    const before = await cluster.waitAllSlotsOwned(
      20_000,
      (rows) => rows.every((r) => r.owner === "rq-a"),
      "A owns every slot",
    );
    const tokens = new Map(before.map((r) => [r.slot, Number(r.fencingToken)]));
    const leader = await waitFor(() => cluster.leader(), { timeoutMs: 10_000, description: "a leader" });
    const outcomes = await s.collectOutcomes(DEMO_SENDER_ID);
    const victim = cluster.infra.redis[0];
    if (victim === undefined) throw new Error("no redis node");

    let killedAt = 0;
    let killing: Promise<void> | undefined;
    const publishing = publishDownstream(jetstream(nc), {
      senderId: DEMO_SENDER_ID,
      prefix: "rq",
      count: MESSAGES,
      durationMs: 12_000,
      onPublished: (done) => {
        if (done === Math.floor(MESSAGES / 5)) {
          killedAt = Date.now();
          killing = victim.kill("SIGKILL");
        }
      },
    });
    await waitFor(() => killing !== undefined, { timeoutMs: 10_000, description: "redis node killed" });
    await killing;
    expect(victim.state).toBe("stopped");

    // Over 2.5 lease TTLs the worker keeps renewing every slot on the majority.
    const holdUntil = Date.now() + 2.5 * TIMINGS.slotLeaseTtlMs;
    while (Date.now() < holdUntil) {
      const st = await a.status<WorkerStatus>();
      expect(st?.slots.map((x) => x.slot).sort()).toEqual([...tokens.keys()].sort());
      for (const slot of st?.slots ?? []) {
        expect(slot.fencingToken).toBe(tokens.get(slot.slot));
        expect(slot.leaseRemainingMs).toBeGreaterThan(0);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(a.log.records("slot lost")).toEqual([]);
    const stillLeader = await cluster.leader();
    expect(stillLeader?.proc.id).toBe(leader.proc.id);
    expect(Number(stillLeader?.status.leaderToken)).toBe(Number(leader.status.leaderToken));
    for (const c of cluster.coordinators()) expect(c.log.records("no longer leader")).toEqual([]);

    // A new worker still acquires slots (majority of 2 of 3 nodes).
    const b = await cluster.startWorker("rq-b", { coordinated: true });
    const shared = await cluster.waitAllSlotsOwned(
      TIMINGS.slotLeaseTtlMs + 15_000,
      (rows) => rows.filter((r) => r.owner === "rq-b").length === SLOTS / 2,
      "B gets its share with one Redis node down",
    );
    for (const row of shared) {
      if (row.owner === "rq-b") expect(Number(row.fencingToken)).toBeGreaterThan(tokens.get(row.slot) ?? 0);
    }
    expect(await cluster.workerSlots(b)).toHaveLength(SLOTS / 2);

    // More traffic once B holds its slots: it must flow through B too.
    const phase1 = await publishing;
    const phase2 = await publishDownstream(jetstream(nc), {
      senderId: DEMO_SENDER_ID,
      prefix: "rq2",
      count: 600,
      durationMs: 1_500,
    });
    const ids = [...phase1, ...phase2];
    await outcomes.waitForAll(ids, TIMINGS.ackWaitMs + 40_000);
    await waitDownstreamSettled(nc, DEMO_SENDER_ID, 20_000);
    assertExactlyOneOutcomeEach(outcomes, ids);
    expect(outcomes.byWorker(phase2)["rq-b"] ?? 0).toBeGreaterThan(0);
    const ledger = await assertLedger(admin, DEMO_SENDER_ID, ids, 0);
    await assertNoPendingViolations(admin);
    const status = await cluster.coordinatorStatus();
    expect((status as CoordinatorStatus | undefined)?.unassignedSlots).toEqual([]);
    note(NAME, "done", {
      ms: Date.now() - t0,
      sinceKillMs: Date.now() - killedAt,
      byWorker: outcomes.byWorker(ids),
      duplicateArrivals: ledger.duplicateArrivals,
    });
  });
});
