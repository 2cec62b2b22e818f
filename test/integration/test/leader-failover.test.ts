// The leading coordinator is SIGKILLed: the other one logs "elected leader" within the leader TTL (plus a
// margin) with a higher fencing token, assignments continue (a new worker still gets slots), never two
// leaders at once, and traffic during the failover is acked exactly once.

import { waitFor } from "@ccs/testkit";
import { jetstream } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { type CoordinatorStatus, DEMO_SENDER_ID, TIMINGS } from "../support/cluster.ts";
import { note, startCoordinatedScenario } from "../support/scenario.ts";
import {
  assertExactlyOneOutcomeEach,
  assertLedger,
  assertNoPendingViolations,
  publishDownstream,
  waitDownstreamSettled,
} from "../support/traffic.ts";

const NAME = "leader-failover";
const SLOTS = 4;
const MESSAGES = 2_000;

describe(NAME, () => {
  it("another coordinator takes over within the leader TTL and assignments continue", async () => {
    const t0 = Date.now();
    const s = await startCoordinatedScenario({ name: NAME, prefix: "lead", slots: SLOTS });
    const { cluster, nc } = s;
    const admin = cluster.emulator.admin;
    const a = await cluster.startWorker("lead-a", { coordinated: true });
    await cluster.waitAllSlotsOwned(
      20_000,
      (rows) => rows.every((r) => r.owner === "lead-a"),
      "A owns every slot",
    );

    const first = await waitFor(() => cluster.leader(), { timeoutMs: 10_000, description: "a leader" });
    const oldLeader = first.proc;
    const follower = cluster.coordinators().find((c) => c !== oldLeader);
    if (follower === undefined) throw new Error("no follower");
    const oldToken = Number(first.status.leaderToken);
    expect((await follower.status<CoordinatorStatus>())?.role).toBe("follower");
    expect(follower.log.records("elected leader")).toHaveLength(0);
    const outcomes = await s.collectOutcomes(DEMO_SENDER_ID);

    // Watch for two leaders at once (the old one is SIGKILLed, so it cannot act after the kill).
    let twoLeaders = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const roles = await Promise.all(cluster.coordinators().map((c) => c.status<CoordinatorStatus>()));
        if (roles.filter((r) => r?.role === "leader").length > 1) twoLeaders++;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    let killedAt = 0;
    const ids = await publishDownstream(jetstream(nc), {
      senderId: DEMO_SENDER_ID,
      prefix: "lead",
      count: MESSAGES,
      durationMs: 4_000,
      onPublished: (done) => {
        if (done === Math.floor(MESSAGES / 4)) {
          killedAt = Date.now();
          void oldLeader.handle.kill("SIGKILL");
        }
      },
    });
    expect((await oldLeader.handle.exited).signal).toBe("SIGKILL");
    const elected = await follower.handle.waitForLine(/"msg":"elected leader"/, TIMINGS.leaderTtlMs + 10_000);
    const electedRec = JSON.parse(elected) as { time: string; fencingToken: number };
    const takeoverMs = Date.parse(electedRec.time) - killedAt;
    expect(takeoverMs).toBeLessThan(TIMINGS.leaderTtlMs + 2_000);
    expect(Number(electedRec.fencingToken)).toBeGreaterThan(oldToken);
    const newStatus = await waitFor(
      async () => {
        const st = await follower.status<CoordinatorStatus>();
        return st?.role === "leader" ? st : undefined;
      },
      { timeoutMs: 5_000, description: "the follower's /status says leader" },
    );
    expect(Number(newStatus.leaderToken)).toBeGreaterThan(oldToken);

    // Assignments continue under the new leader: a new worker gets its share.
    const b = await cluster.startWorker("lead-b", { coordinated: true });
    const shared = await cluster.waitAllSlotsOwned(
      TIMINGS.slotLeaseTtlMs + 15_000,
      (rows) => rows.filter((r) => r.owner === "lead-b").length === SLOTS / 2,
      "B gets its share from the new leader",
    );
    expect(shared).toHaveLength(SLOTS);
    expect(await cluster.workerSlots(b)).toHaveLength(SLOTS / 2);
    const assignment = (await follower.status<CoordinatorStatus>())?.assignment;
    expect(assignment?.leaderId).toBe(follower.id);
    expect(Number(assignment?.fencingToken)).toBeGreaterThan(oldToken);

    watching = false;
    await watcher;
    expect(twoLeaders).toBe(0);

    await outcomes.waitForAll(ids, TIMINGS.ackWaitMs + 40_000);
    await waitDownstreamSettled(nc, DEMO_SENDER_ID, 20_000);
    assertExactlyOneOutcomeEach(outcomes, ids);
    await assertLedger(admin, DEMO_SENDER_ID, ids, 0);
    await assertNoPendingViolations(admin);
    expect(a.exited).toBe(false);
    note(NAME, "done", {
      ms: Date.now() - t0,
      takeoverMs,
      oldToken,
      newToken: electedRec.fencingToken,
      byWorker: outcomes.byWorker(ids),
    });
  });
});
