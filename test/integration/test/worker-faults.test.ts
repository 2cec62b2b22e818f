// The worker under connection faults (services/worker/README.md "Retries", "Flow control"), with real
// processes: nats-server, the CCS emulator and static-mode workers. CONNECTION_DRAINING, TCP resets,
// answers that never come, and refused credentials. Every test asserts on the outcome stream (exactly
// one outcome per message) AND on the emulator's counters and device ledgers.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "@ccs/testkit";
import { jetstream } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { DEMO_API_KEY, DEMO_SENDER_ID, TIMINGS } from "../support/cluster.ts";
import { note } from "../support/scenario.ts";
import {
  assertExactlyOneOutcomeEach,
  assertLedger,
  assertNoPendingViolations,
  publishDownstream,
  waitDownstreamSettled,
} from "../support/traffic.ts";
import {
  outcomesOf,
  StatsSampler,
  startConfiguredWorker,
  startStaticScenario,
  workerCounters,
  workerHealthy,
} from "../support/worker-faults-support.ts";

const NAME = "worker-faults";
const S = DEMO_SENDER_ID;
const CONNECTIONS = 2;
/** The README's bound for the refused-key backoff check: attempts per connection in the 4 s window. */
const MAX_AUTH_ATTEMPTS_PER_CONNECTION_IN_4S = 6;
const AUTH_WINDOW_MS = 4_000;

describe(NAME, () => {
  it("CONNECTION_DRAINING of one connection during traffic: nothing lost, exactly once, connection replaced", async () => {
    const t0 = Date.now();
    const s = await startStaticScenario(`${NAME}-drain`, { connections: CONNECTIONS });
    const admin = s.cluster.emulator.admin;
    const worker = await startConfiguredWorker(s, "drain-w", {});
    const before = await admin.waitLive(S, (l) => l.length === CONNECTIONS, 20_000, "connections live");
    const outcomes = await s.collectOutcomes(S);
    const sampler = new StatsSampler(admin);

    const MESSAGES = 600;
    const target = before[0]?.id;
    if (target === undefined) throw new Error("no live connection");
    let drained: string[] = [];
    let drain: Promise<void> | undefined;
    const ids = await publishDownstream(jetstream(s.nc), {
      senderId: S,
      prefix: "drain",
      count: MESSAGES,
      durationMs: 3_000,
      concurrency: 32,
      onPublished: (done) => {
        if (done === MESSAGES / 3) {
          drain = admin.drain({ connectionId: target }).then((r) => {
            drained = r.drained;
          });
        }
      },
    });
    await drain;
    expect(drained).toEqual([target]);
    await outcomes.waitForAll(ids, 30_000);
    await waitDownstreamSettled(s.nc, S, 10_000);
    await sampler.stop();

    assertExactlyOneOutcomeEach(outcomes, ids); // all acked, none missing, none twice
    const all = outcomesOf(outcomes, ids);
    const stats = await admin.stats();
    const drainingNacks = stats.counters.nacked.CONNECTION_DRAINING ?? 0;
    // Each CONNECTION_DRAINING NACK cost exactly one resend (elsewhere); nothing else was retried.
    expect(all.reduce((n, o) => n + o.attempts - 1, 0)).toBe(drainingNacks);
    const counters = await workerCounters(worker);
    expect(counters["retries{draining}"] ?? 0).toBe(drainingNacks);
    expect(counters.lost ?? 0).toBe(0);
    expect(stats.counters.drainsSent).toBe(1);
    expect(stats.counters.acked).toBe(MESSAGES);
    // A draining connection still answers what is pending: no message reached a device twice.
    await assertLedger(admin, S, ids, 0);
    // The drained connection was replaced: the sender is back to its live connection count.
    const after = await admin.waitLive(
      S,
      (l) => l.length === CONNECTIONS && l.every((c) => c.id !== target),
      15_000,
      "drained connection replaced",
    );
    const finalStats = await admin.stats();
    expect(finalStats.bySender[S]?.connections).toBe(CONNECTIONS);
    expect(finalStats.counters.connectionsOpened).toBe(CONNECTIONS + 1);
    expect(sampler.maxPendingViolations).toBe(0);
    await assertNoPendingViolations(admin);

    // A drain control message races the sends, so the NACK path is rarely hit above: inject
    // CONNECTION_DRAINING NACKs (without a drain) and check they are retried (bounded) and end acked.
    const BURST = 10;
    await admin.setFaults({ nackBurst: { code: "CONNECTION_DRAINING", count: BURST } });
    const ids2 = await publishDownstream(jetstream(s.nc), { senderId: S, prefix: "drain-nack", count: 100 });
    await outcomes.waitForAll(ids2, 30_000);
    await waitDownstreamSettled(s.nc, S, 10_000);
    assertExactlyOneOutcomeEach(outcomes, [...ids, ...ids2]);
    const all2 = outcomesOf(outcomes, ids2);
    const stats2 = await admin.stats();
    const counters2 = await workerCounters(worker);
    expect(stats2.counters.nacked.CONNECTION_DRAINING).toBe(drainingNacks + BURST);
    expect(all2.reduce((n, o) => n + o.attempts - 1, 0)).toBe(BURST + (counters2.lost ?? 0));
    expect(counters2["retries{draining}"]).toBe(drainingNacks + BURST);
    for (const o of all2) expect(o.attempts, o.message_id).toBeLessThanOrEqual(1 + 10);
    await assertLedger(admin, S, [...ids, ...ids2], 0);
    // The worker drains a connection that NACKs CONNECTION_DRAINING and opens a replacement; the emulator
    // (which did not drain them) keeps the old ones open until the worker's drain timeout.
    const live2 = await admin.waitLive(S, (l) => l.length >= CONNECTIONS, 15_000, "connections live");
    await waitFor(
      async () => {
        const st = await worker.status<{ connections: { state: string }[] }>();
        return st?.connections.filter((c) => c.state === "online").length === CONNECTIONS;
      },
      { timeoutMs: 15_000, intervalMs: 200, description: "worker has its connections online" },
    );
    await assertNoPendingViolations(admin);
    note(NAME, "drain done", {
      ms: Date.now() - t0,
      live2: live2.map((c) => c.id),
      lost2: counters2.lost ?? 0,
      drainingNacks,
      before: before.map((c) => c.id),
      after: after.map((c) => c.id),
    });
  });

  it("TCP reset and dropped answers during traffic: every message acked exactly once, resent with its id", async () => {
    const t0 = Date.now();
    const s = await startStaticScenario(`${NAME}-reset`, { connections: CONNECTIONS });
    const admin = s.cluster.emulator.admin;
    const answerTimeoutMs = 3_000;
    const worker = await startConfiguredWorker(
      s,
      "reset-w",
      {},
      { CCS_ANSWER_TIMEOUT_MS: String(answerTimeoutMs) },
    );
    const before = await admin.waitLive(S, (l) => l.length === CONNECTIONS, 20_000, "connections live");
    const outcomes = await s.collectOutcomes(S);
    const sampler = new StatsSampler(admin);

    const MESSAGES = 600;
    const target = before[0]?.id;
    if (target === undefined) throw new Error("no live connection");
    const faults: Promise<unknown>[] = [];
    const ids = await publishDownstream(jetstream(s.nc), {
      senderId: S,
      prefix: "reset",
      count: MESSAGES,
      durationMs: 6_000,
      concurrency: 32,
      onPublished: (done) => {
        if (done === 150) faults.push(admin.resetConnection(target));
        if (done === 250) faults.push(admin.setFaults({ dropAnswers: 0.05 }));
        if (done === 450) faults.push(admin.setFaults({}));
      },
    });
    await Promise.all(faults);
    expect(faults).toHaveLength(3);
    expect((await admin.faults()).dropAnswers).toBeUndefined();
    // Dropped answers are found by the answer timeout and resent: allow for it (plus JetStream's ack wait).
    await outcomes.waitForAll(ids, answerTimeoutMs * 3 + TIMINGS.ackWaitMs + 15_000);
    await waitDownstreamSettled(s.nc, S, 15_000);
    await sampler.stop();

    assertExactlyOneOutcomeEach(outcomes, ids); // all acked, none missing, none twice
    const all = outcomesOf(outcomes, ids);
    const stats = await admin.stats();
    const counters = await workerCounters(worker);
    expect(stats.counters.resets).toBe(1);
    expect(stats.counters.acked).toBeGreaterThanOrEqual(MESSAGES - (counters.lost ?? 0));
    // Answers were dropped (5 % of ~200 sends) and the worker resent those messages.
    const resent = all.filter((o) => o.attempts > 1);
    expect(counters["lost{answer-timeout}"] ?? 0).toBeGreaterThan(0);
    expect(resent.length).toBeGreaterThan(0);

    // Ledger: every id arrived (≥ 1); an id that arrived more than once was resent by the worker under
    // the same message_id (its outcome shows the extra attempts), never redelivered on its own.
    const ledger = await admin.ledger({ messageIds: true });
    const arrivals = ledger.messageIds ?? {};
    const notDelivered = ids.filter((id) => (arrivals[`${S}:${id}`] ?? 0) < 1);
    expect(notDelivered).toEqual([]);
    let duplicates = 0;
    for (const o of all) {
      const n = arrivals[`${S}:${o.message_id}`] ?? 0;
      duplicates += n - 1;
      expect(n, o.message_id).toBeLessThanOrEqual(o.attempts);
    }
    // Bounded: each duplicate arrival is one lost send resent (timeouts, the reset's pending window).
    expect(duplicates).toBeLessThanOrEqual(counters.lost ?? 0);
    expect(counters.lost ?? 0).toBeLessThanOrEqual(TIMINGS.windowSize * 2);
    // The worker stayed inside the pending window throughout (ghosts of unanswered sends count).
    expect(sampler.samples).toBeGreaterThan(10);
    expect(sampler.maxPendingViolations).toBe(0);
    await assertNoPendingViolations(admin);
    await admin.waitLive(S, (l) => l.length === CONNECTIONS, 15_000, "connections live again");
    note(NAME, "reset/drop done", {
      ms: Date.now() - t0,
      resent: resent.length,
      duplicates,
      lost: counters.lost,
      lostTimeout: counters["lost{answer-timeout}"],
      maxPending: sampler.maxPending,
      unanswered: stats.counters.unanswered,
    });
  });

  it("refuseAuth: backoff instead of a storm, the worker stays up, connects and delivers once allowed", async () => {
    const t0 = Date.now();
    const s = await startStaticScenario(`${NAME}-refuse`, { connections: CONNECTIONS });
    const admin = s.cluster.emulator.admin;
    await admin.setFaults({ refuseAuth: true });
    const worker = await startConfiguredWorker(s, "refuse-w", {});
    const outcomes = await s.collectOutcomes(S);

    const first = await waitFor(
      async () => {
        const n = (await admin.stats()).bySender[S]?.authFailures ?? 0;
        return n >= 1 ? { n, at: Date.now() } : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 50, description: "first refused login" },
    );
    // Messages published while no connection is online wait in JetStream.
    const js = jetstream(s.nc);
    const ids = await publishDownstream(js, { senderId: S, prefix: "refused", count: 50 });
    await new Promise((r) => setTimeout(r, AUTH_WINDOW_MS - (Date.now() - first.at))); // the observation window
    const inWindow = (await admin.stats()).bySender[S]?.authFailures ?? 0;
    const attempts = inWindow; // every refusal so far: the window starts at the first one
    expect(inWindow).toBeGreaterThan(first.n); // it keeps trying...
    expect(attempts).toBeLessThanOrEqual(MAX_AUTH_ATTEMPTS_PER_CONNECTION_IN_4S * CONNECTIONS); // ...with backoff
    expect((await admin.stats()).counters.connectionsOpened).toBe(0);
    expect(worker.exited).toBe(false);
    expect(await workerHealthy(worker)).toBe(true);
    expect(
      worker.log.records("CCS REFUSED THE SENDER'S API KEY: check the credentials; retrying with backoff")
        .length,
    ).toBeGreaterThan(0);
    expect(worker.log.lines.some((l) => l.includes(DEMO_API_KEY))).toBe(false); // never logs the key
    expect(outcomes.counts.size).toBe(0);

    await admin.setFaults({});
    // The next attempt comes within the backoff (1, 2, 4, 8 s ...): both connections come online.
    await admin.waitLive(S, (l) => l.length === CONNECTIONS, 20_000, "connections online after the fault");
    await outcomes.waitForAll(ids, 20_000);
    await waitDownstreamSettled(s.nc, S, 10_000);
    assertExactlyOneOutcomeEach(outcomes, ids);
    await assertLedger(admin, S, ids, 0);
    await assertNoPendingViolations(admin);
    expect(worker.exited).toBe(false);
    note(NAME, "refuseAuth done", { ms: Date.now() - t0, authFailures: inWindow, attempts });
  });

  it("wrong API key: backoff, no crash, graceful stop; restarted with the right key it delivers everything", async () => {
    const t0 = Date.now();
    const s = await startStaticScenario(`${NAME}-wrongkey`, { connections: CONNECTIONS });
    const admin = s.cluster.emulator.admin;
    const wrongKey = "wrong-api-key-for-the-test";
    const wrongFile = join(s.cluster.dir, "senders-wrong-key.json");
    writeFileSync(
      wrongFile,
      JSON.stringify({ senders: [{ senderId: S, apiKey: wrongKey, connections: CONNECTIONS }] }),
    );
    const bad = await startConfiguredWorker(s, "wrongkey-w", {}, { CCS_SENDERS_FILE: wrongFile });
    const outcomes = await s.collectOutcomes(S);

    const first = await waitFor(
      async () => {
        const n = (await admin.stats()).bySender[S]?.authFailures ?? 0;
        return n >= 1 ? { n, at: Date.now() } : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 50, description: "first refused login" },
    );
    const ids = await publishDownstream(jetstream(s.nc), { senderId: S, prefix: "wrongkey", count: 50 });
    await new Promise((r) => setTimeout(r, AUTH_WINDOW_MS - (Date.now() - first.at))); // the observation window
    const inWindow = (await admin.stats()).bySender[S]?.authFailures ?? 0;
    const attempts = inWindow;
    expect(inWindow).toBeGreaterThan(first.n);
    expect(attempts).toBeLessThanOrEqual(MAX_AUTH_ATTEMPTS_PER_CONNECTION_IN_4S * CONNECTIONS);
    expect((await admin.stats()).counters.connectionsOpened).toBe(0);
    expect(bad.exited).toBe(false);
    expect(await workerHealthy(bad)).toBe(true);
    expect(bad.log.lines.some((l) => l.includes(wrongKey))).toBe(false); // never logs the key
    expect(outcomes.counts.size).toBe(0); // nothing was sent, nothing was given up on

    // SIGTERM: a clean exit (0), not a crash; its un-sent work goes back to JetStream.
    const exit = await bad.handle.kill("SIGTERM");
    expect(exit.code).toBe(0);
    const good = await startConfiguredWorker(s, "rightkey-w", {});
    await admin.waitLive(S, (l) => l.length === CONNECTIONS, 20_000, "connections online with the right key");
    await outcomes.waitForAll(ids, 20_000);
    await waitDownstreamSettled(s.nc, S, 10_000);
    assertExactlyOneOutcomeEach(outcomes, ids);
    expect(outcomesOf(outcomes, ids).every((o) => o.worker_id === good.id)).toBe(true);
    await assertLedger(admin, S, ids, 0);
    await assertNoPendingViolations(admin);
    note(NAME, "wrong key done", { ms: Date.now() - t0, authFailures: inWindow, attempts });
  });
});
