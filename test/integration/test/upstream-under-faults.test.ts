// Upstream messages and receipts under the faults that used to leave them stuck un-ACKed on live
// connections, each scenario repeated ROUNDS times in a row in one cluster, the fault striking at a
// different point of the load each round:
//  - a worker SIGKILLed under downstream load with receipts (a replacement starts, as a supervisor
//    would), then upstream messages with one connection reset half-way;
//  - random draining (the emulator's CONNECTION_DRAINING at random) and 1 % SERVICE_UNAVAILABLE NACKs
//    while downstream and upstream traffic flow;
//  - Redis SIGKILLed under load and restarted empty 5 s later, upstream posted during and after.
// After each round: every downstream message has exactly one outcome, every receipt and upstream
// message is published exactly once, and the emulator holds nothing un-ACKed or waiting for the sender.
// CCS_IT_FAULT_ROUNDS overrides the number of rounds (default 10).

import { describe, expect, it } from "vitest";
import { DEMO_SENDER_ID, type ServiceProcess } from "../support/cluster.ts";
import { note, type Scenario, startCoordinatedScenario } from "../support/scenario.ts";
import { assertNoPendingViolations } from "../support/traffic.ts";
import { UpstreamRounds } from "../support/upstream-rounds.ts";

const NAME = "upstream-under-faults";
const ROUNDS = Number(process.env.CCS_IT_FAULT_ROUNDS ?? "10");
const SLOTS = 4;

/** Where in a round's load the fault strikes: spread over 15 %..85 %, in a different order each round. */
function strikeFraction(round: number): number {
  return 0.15 + (0.7 * ((round * 7) % ROUNDS)) / Math.max(1, ROUNDS - 1);
}

async function twoWorkers(s: Scenario, prefix: string): Promise<ServiceProcess[]> {
  const workers = await Promise.all([
    s.cluster.startWorker(`${prefix}-w0`, { coordinated: true }),
    s.cluster.startWorker(`${prefix}-w1`, { coordinated: true }),
  ]);
  await s.cluster.waitAllSlotsOwned(30_000);
  return workers;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe(NAME, () => {
  it(`a worker SIGKILLed under load with receipts, then upstream with a connection reset (${ROUNDS} rounds)`, async () => {
    const DOWN = 400;
    const UP = 50;
    const s = await startCoordinatedScenario({ name: `${NAME}-sigkill`, prefix: "fk", slots: SLOTS });
    const { cluster } = s;
    const admin = cluster.emulator.admin;
    const workers = await twoWorkers(s, "fk");
    const rounds = await UpstreamRounds.start(s);
    for (let r = 0; r < ROUNDS; r++) {
      const victim = r % 2;
      const strikeAt = Math.max(1, Math.floor(DOWN * strikeFraction(r)));
      let replacement: Promise<ServiceProcess> | undefined;
      const down = await rounds.downstream(r, DOWN, {
        durationMs: 1_500,
        onPublished: async (done) => {
          if (done !== strikeAt) return;
          await workers[victim]?.handle.kill("SIGKILL");
          replacement = cluster.startWorker(`fk-w${victim}-r${r}`, { coordinated: true });
        },
      });
      if (replacement === undefined) throw new Error("the fault did not strike");
      workers[victim] = await replacement;
      await cluster.waitAllSlotsOwned(30_000);
      const resetAt = 1 + ((r * 13) % (UP - 1));
      const upstreamKeys = await rounds.upstream(`k${r}`, UP, {
        onPosted: async (posted) => {
          if (posted !== resetAt) return;
          const live = await admin.liveConnections(DEMO_SENDER_ID);
          const target = live[r % Math.max(1, live.length)];
          if (target !== undefined) await admin.resetConnection(target.id);
        },
      });
      await rounds.settle(r, { ...down, upstreamKeys });
      note(`${NAME}-sigkill`, `round ${r}`, { strikeAt, resetAt });
    }
    const st = await admin.stats();
    expect(st.counters.resets).toBeGreaterThanOrEqual(ROUNDS);
    expect(st.counters.upstreamRedeliveries).toBeGreaterThan(0);
    await assertNoPendingViolations(admin);
    await rounds.close();
  });

  it(`random draining and SERVICE_UNAVAILABLE NACKs under load (${ROUNDS} rounds)`, async () => {
    const DOWN = 400;
    const UP = 50;
    const s = await startCoordinatedScenario({ name: `${NAME}-drain`, prefix: "fd", slots: SLOTS });
    const admin = s.cluster.emulator.admin;
    await twoWorkers(s, "fd");
    const rounds = await UpstreamRounds.start(s);
    for (let r = 0; r < ROUNDS; r++) {
      await admin.setFaults({
        randomDrain: { perConnectionPerMinute: 30 },
        nack: { SERVICE_UNAVAILABLE: 0.01 },
      });
      const [down, upstreamKeys] = await Promise.all([
        rounds.downstream(r, DOWN, { durationMs: 2_500 }),
        rounds.upstream(`d${r}`, UP, { concurrency: 2 }),
      ]);
      await admin.setFaults({});
      await rounds.settle(r, { ...down, upstreamKeys });
      note(`${NAME}-drain`, `round ${r}`, { drainsSent: (await admin.stats()).counters.drainsSent });
    }
    const st = await admin.stats();
    expect(st.counters.drainsSent).toBeGreaterThanOrEqual(ROUNDS);
    await assertNoPendingViolations(admin);
    await rounds.close();
  });

  it(`Redis SIGKILLed under load and restarted empty 5 s later (${ROUNDS} rounds)`, async () => {
    const DOWN = 300;
    const UP = 40;
    const s = await startCoordinatedScenario({ name: `${NAME}-redis`, prefix: "fr", slots: SLOTS });
    const { cluster } = s;
    const redis = cluster.infra.redis[0];
    if (redis === undefined) throw new Error("no redis node");
    await twoWorkers(s, "fr");
    const rounds = await UpstreamRounds.start(s);
    for (let r = 0; r < ROUNDS; r++) {
      const strikeAt = Math.max(1, Math.floor(DOWN * strikeFraction(r)));
      let outage: Promise<void> | undefined;
      const down = await rounds.downstream(r, DOWN, {
        durationMs: 2_000,
        onPublished: (done) => {
          if (done !== strikeAt) return;
          // The fault's own timing (not a wait for a result): Redis is gone for 5 s and comes back empty.
          outage = (async () => {
            await redis.kill("SIGKILL");
            await delay(5_000);
            await redis.start();
          })();
        },
      });
      if (outage === undefined) throw new Error("the fault did not strike");
      const during = await rounds.upstream(`r${r}a`, UP / 2);
      await outage;
      await cluster.waitAllSlotsOwned(40_000);
      const after = await rounds.upstream(`r${r}b`, UP / 2);
      await rounds.settle(r, { ...down, upstreamKeys: [...during, ...after] });
      note(`${NAME}-redis`, `round ${r}`, { strikeAt });
    }
    await assertNoPendingViolations(cluster.emulator.admin);
    await rounds.close();
  });
});
