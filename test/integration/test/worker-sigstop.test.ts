// Coordinated mode: worker B is frozen with SIGSTOP during traffic, past its heartbeat and slot lease
// TTLs. Its slots are reassigned to A (higher fencing tokens). With no traffic left, B is resumed
// (SIGCONT): it must not act on the slots it lost — its /status shows none of them, the emulator receives
// nothing more (B's queued work is not sent on its old connections), and B's old connections are closed.
// Every message still has exactly one outcome; duplicate arrivals stay within B's pending windows.
//
// Known product issue (fails intermittently, about 1 run in 3): stanzas that passed the fence check just
// before the freeze sit in the connection's batched writer (flushed by setImmediate, with no second fence
// check) and reach CCS right after SIGCONT, on the connection of a slot whose lease expired and was
// re-granted to A — see the failure message (messages, arrival times, the outcomes published by A).

import { waitFor } from "@ccs/testkit";
import { jetstream } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { boundResources, DEMO_SENDER_ID, TIMINGS, type WorkerStatus } from "../support/cluster.ts";
import { note, startCoordinatedScenario } from "../support/scenario.ts";
import {
  arrivalsSince,
  assertExactlyOneOutcomeEach,
  assertLedger,
  assertNoPendingViolations,
  publishDownstream,
  waitDownstreamSettled,
} from "../support/traffic.ts";

const NAME = "worker-sigstop";
const SLOTS = 4;
const MESSAGES = 2_000;

describe(NAME, () => {
  it("a worker frozen past its TTL does not act on the slots it lost once resumed", async () => {
    const t0 = Date.now();
    const s = await startCoordinatedScenario({ name: NAME, prefix: "stop", slots: SLOTS });
    const { cluster, nc } = s;
    const admin = cluster.emulator.admin;
    const [a, b] = await Promise.all([
      cluster.startWorker("stop-a", { coordinated: true }),
      cluster.startWorker("stop-b", { coordinated: true }),
    ]);
    if (a === undefined || b === undefined) throw new Error("workers did not start");
    const before = await cluster.waitAllSlotsOwned(
      25_000,
      (rows) => rows.filter((r) => r.owner === "stop-b").length === SLOTS / 2,
      "slots split between A and B",
    );
    const bSlots = before.filter((r) => r.owner === "stop-b").map((r) => r.slot);
    const tokensBefore = new Map(before.map((r) => [r.slot, Number(r.fencingToken)]));
    const bResources = boundResources(b);
    const bConnections = (await admin.liveConnections(DEMO_SENDER_ID))
      .filter((c) => c.resource !== null && bResources.has(c.resource))
      .map((c) => c.id);
    expect(bConnections).toHaveLength(SLOTS / 2);
    const outcomes = await s.collectOutcomes(DEMO_SENDER_ID);

    // Light ack latency so B holds sends in flight and queued work when it freezes.
    await admin.setFaults({ slowAcks: { kind: "uniform", minMs: 20, maxMs: 60 } });
    let stoppedAt = 0;
    const ids = await publishDownstream(jetstream(nc), {
      senderId: DEMO_SENDER_ID,
      prefix: "stop",
      count: MESSAGES,
      durationMs: 4_000,
      onPublished: (done) => {
        if (done === Math.floor(MESSAGES / 3)) {
          stoppedAt = Date.now();
          b.handle.signal("SIGSTOP");
        }
      },
    });
    expect(stoppedAt).toBeGreaterThan(0);

    // B's slots move to A once B's heartbeat and leases expire.
    const moved = await cluster.waitAllSlotsOwned(
      TIMINGS.workerTtlMs + TIMINGS.slotLeaseTtlMs + 10_000,
      (rows) => rows.every((r) => r.owner === "stop-a"),
      "every slot owned by A while B is frozen",
    );
    const movedMs = Date.now() - stoppedAt;
    const tokensAfter = new Map(moved.map((r) => [r.slot, Number(r.fencingToken)]));
    for (const slot of bSlots) expect(tokensAfter.get(slot)).toBeGreaterThan(tokensBefore.get(slot) ?? 0);

    // Everything B had is redelivered (ack_wait) and handled by A; then the system is quiet.
    await admin.setFaults({});
    await outcomes.waitForAll(ids, TIMINGS.ackWaitMs + 40_000);
    await waitDownstreamSettled(nc, DEMO_SENDER_ID, 20_000);
    const quiet = await admin.stats();
    const received = quiet.counters.downstreamReceived;
    const frozenMs = Date.now() - stoppedAt;
    expect(frozenMs).toBeGreaterThan(TIMINGS.slotLeaseTtlMs);

    b.handle.signal("SIGCONT");
    const resumedAt = Date.now();
    // B's first answer after resuming: no slot it lost, and nothing it shows is expired.
    const firstStatus = await waitFor(() => b.status<WorkerStatus>(), {
      timeoutMs: 10_000,
      description: "B answers /status after SIGCONT",
    });
    const stale = firstStatus.slots.filter(
      (x) => bSlots.includes(x.slot) && x.fencingToken <= (tokensBefore.get(x.slot) ?? 0),
    );
    expect(stale, `B still shows lost slots: ${JSON.stringify(firstStatus.slots)}`).toEqual([]);
    for (const x of firstStatus.slots) expect(x.leaseRemainingMs).toBeGreaterThan(0);

    // Within a few seconds after resuming, nothing is sent to CCS (there is no traffic), B's old
    // connections are closed, and B's log says its slots were lost.
    await waitFor(
      async () => {
        const live = await admin.liveConnections(DEMO_SENDER_ID);
        return live.every((c) => !bConnections.includes(c.id));
      },
      { timeoutMs: 10_000, description: "B's old connections closed after resume" },
    );
    await new Promise((r) => setTimeout(r, 3_000));
    const afterResume = await admin.stats();
    const sentAfterResume = afterResume.counters.downstreamReceived - received;
    if (sentAfterResume !== 0) {
      // Which messages reached a device after the resume, and who had sent them (their outcomes).
      const late = await arrivalsSince(admin, resumedAt);
      const detail = late.map((x) => ({
        ...x,
        firstAt: new Date(x.firstAt).toISOString(),
        lastAt: new Date(x.lastAt).toISOString(),
        outcomes: outcomes.outcomes.get(x.messageId),
      }));
      expect.fail(
        `${sentAfterResume} downstream message(s) sent to CCS after B resumed, with no traffic (resumed at ${new Date(resumedAt).toISOString()}): ${JSON.stringify(detail)}`,
      );
    }
    const lostLogged = b.log.records("slot lost").map((r) => r.slot);
    for (const slot of bSlots) expect(lostLogged).toContain(slot);
    // Outcomes published by B after resuming would be for messages it should no longer act on.
    const lateFromB = ids.filter((id) =>
      (outcomes.outcomes.get(id) ?? []).some(
        (o) =>
          o.worker_id === "stop-b" &&
          (o.fencing_token ?? 0) <= (tokensBefore.get(o.slot ?? "") ?? 0) &&
          Date.parse(o.first_sent_at ?? "0") >= resumedAt,
      ),
    );
    expect(lateFromB).toEqual([]);

    assertExactlyOneOutcomeEach(outcomes, ids);
    const ledger = await assertLedger(admin, DEMO_SENDER_ID, ids, TIMINGS.windowSize * bSlots.length);
    await assertNoPendingViolations(admin);
    expect(b.exited).toBe(false);
    const bStatusLater = await b.status<WorkerStatus>();
    note(NAME, "done", {
      ms: Date.now() - t0,
      movedMs,
      frozenMs,
      duplicateArrivals: ledger.duplicateArrivals,
      byWorker: outcomes.byWorker(ids),
      bSlotsAfterResume: bStatusLater?.slots.map((x) => `${x.slot}@${x.fencingToken}`),
    });
  });

  it("resumed right after losing its slots (before its work is redelivered), it sends nothing on them", async () => {
    const t0 = Date.now();
    const s = await startCoordinatedScenario({ name: `${NAME}-early-resume`, prefix: "stop2", slots: SLOTS });
    const { cluster, nc } = s;
    const admin = cluster.emulator.admin;
    const [a, b] = await Promise.all([
      cluster.startWorker("stop2-a", { coordinated: true }),
      cluster.startWorker("stop2-b", { coordinated: true }),
    ]);
    if (a === undefined || b === undefined) throw new Error("workers did not start");
    const before = await cluster.waitAllSlotsOwned(
      25_000,
      (rows) => rows.filter((r) => r.owner === "stop2-b").length === SLOTS / 2,
      "slots split between A and B",
    );
    const bSlots = before.filter((r) => r.owner === "stop2-b").map((r) => r.slot);
    const tokensBefore = new Map(before.map((r) => [r.slot, Number(r.fencingToken)]));
    expect((await b.status<WorkerStatus>())?.connections).toHaveLength(SLOTS / 2);
    const outcomes = await s.collectOutcomes(DEMO_SENDER_ID);

    // Slow answers and a high rate: B's windows are full and work is queued behind them when it freezes.
    await admin.setFaults({ slowAcks: { kind: "uniform", minMs: 300, maxMs: 500 } });
    let stoppedAt = 0;
    let bPendingAtStop = -1;
    const publishing = publishDownstream(jetstream(nc), {
      senderId: DEMO_SENDER_ID,
      prefix: "stop2",
      count: MESSAGES,
      durationMs: 2_500,
      onPublished: async (done) => {
        if (done === Math.floor(MESSAGES / 2)) {
          const st = await b.status<WorkerStatus>();
          bPendingAtStop = st?.connections.reduce((n, c) => n + c.pending, 0) ?? -1;
          stoppedAt = Date.now();
          b.handle.signal("SIGSTOP");
        }
      },
    });
    await waitFor(() => stoppedAt > 0, { timeoutMs: 15_000, description: "B frozen" });
    // Resume as soon as A owns B's slots (past B's lease TTL, before ack_wait redelivers B's work).
    await cluster.waitAllSlotsOwned(
      TIMINGS.workerTtlMs + TIMINGS.slotLeaseTtlMs + 10_000,
      (rows) =>
        rows.every((r) => r.owner === "stop2-a") &&
        bSlots.every(
          (slot) => Number(rows.find((r) => r.slot === slot)?.fencingToken) > (tokensBefore.get(slot) ?? 0),
        ),
      "every slot owned by A with higher tokens",
    );
    b.handle.signal("SIGCONT");
    const resumedAt = Date.now();
    const frozenMs = resumedAt - stoppedAt;
    // Leases are renewed every third of the TTL, so they expire 2/3 to 3/3 of a TTL after the freeze.
    expect(frozenMs).toBeGreaterThan(TIMINGS.slotLeaseTtlMs / 2);

    const ids = await publishing;
    await admin.setFaults({});
    await outcomes.waitForAll(ids, TIMINGS.ackWaitMs + 40_000);
    await waitDownstreamSettled(nc, DEMO_SENDER_ID, 20_000);
    assertExactlyOneOutcomeEach(outcomes, ids);
    // No send by B, after it resumed, under a slot lease it had lost (B may legitimately re-acquire the
    // same slot index later, with a higher token and a connection of the same id).
    const lateSends = ids.flatMap((id) =>
      (outcomes.outcomes.get(id) ?? [])
        .filter(
          (o) =>
            o.worker_id === "stop2-b" &&
            o.slot !== undefined &&
            bSlots.includes(o.slot) &&
            (o.fencing_token ?? 0) <= (tokensBefore.get(o.slot) ?? 0) &&
            Date.parse(o.first_sent_at ?? "0") >= resumedAt,
        )
        .map((o) => `${id}@${o.slot}#${o.fencing_token}@${o.first_sent_at}`),
    );
    // Outcomes carry the slot and fencing token in coordinated mode.
    expect(ids.every((id) => outcomes.outcomes.get(id)?.[0]?.fencing_token !== undefined)).toBe(true);
    expect(lateSends).toEqual([]);
    const ledger = await assertLedger(admin, DEMO_SENDER_ID, ids, TIMINGS.windowSize * bSlots.length);
    await assertNoPendingViolations(admin);
    const lostLogged = b.log.records("slot lost").map((r) => r.slot);
    for (const slot of bSlots) expect(lostLogged).toContain(slot);
    note(`${NAME}-early-resume`, "done", {
      ms: Date.now() - t0,
      frozenMs,
      bPendingAtStop,
      duplicateArrivals: ledger.duplicateArrivals,
      byWorker: outcomes.byWorker(ids),
      bOutcomesCompletedAfterResume: ids.filter((id) =>
        (outcomes.outcomes.get(id) ?? []).some(
          (o) => o.worker_id === "stop2-b" && Date.parse(o.completed_at ?? "0") >= resumedAt,
        ),
      ).length,
    });
  });
});
