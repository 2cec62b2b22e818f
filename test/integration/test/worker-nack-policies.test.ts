// The worker's NACK policies (services/worker/README.md "Retries" and "Outcomes") against the real
// emulator, with real processes: nats-server, the CCS emulator and a static-mode worker. Every test
// asserts on the outcome stream (exactly one outcome per message, its status/code/attempts) AND on the
// emulator's counters and device ledgers. Retry bases are shortened through CCS_WORKER_CONFIG; retry
// bounds stay at their documented defaults.
import { NACK_TEXTS } from "@ccs/ccs-protocol";
import { jetstream } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { DEMO_SENDER_ID } from "../support/cluster.ts";
import { note } from "../support/scenario.ts";
import {
  assertExactlyOneOutcomeEach,
  assertLedger,
  assertNoPendingViolations,
  deviceToken,
  ledgerReport,
  publishDownstream,
  waitDownstreamSettled,
} from "../support/traffic.ts";
import {
  onlyOutcome,
  outcomesOf,
  publishJson,
  publishRaw,
  rotateDevice,
  startConfiguredWorker,
  startStaticScenario,
  unregisterDevice,
  workerCounters,
} from "../support/worker-faults-support.ts";

const NAME = "worker-nack-policies";
const S = DEMO_SENDER_ID;
const JITTER = 0.1; // the documented default (±10 %), left as is

/** Minimum total wait of `n` doubling backoff delays from `baseMs` (cap `maxMs`), jitter taken off. */
function minBackoffMs(n: number, baseMs: number, maxMs: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) total += Math.min(maxMs, baseMs * 2 ** i) * (1 - JITTER);
  return Math.floor(total) - 5; // ISO timestamps are ms-rounded
}

function spanMs(o: { first_sent_at?: string; completed_at: string }): number {
  if (o.first_sent_at === undefined) return Number.NaN;
  return Date.parse(o.completed_at) - Date.parse(o.first_sent_at);
}

describe(NAME, () => {
  it("SERVICE_UNAVAILABLE burst: retried with backoff, every message acked exactly once", async () => {
    const t0 = Date.now();
    const s = await startStaticScenario(`${NAME}-su`);
    const admin = s.cluster.emulator.admin;
    const su = { baseMs: 200, maxMs: 2_000 }; // maxRetries: default 8
    const worker = await startConfiguredWorker(s, "su-w", { retry: { serviceUnavailable: su } });
    await admin.waitLive(S, (l) => l.length === 2, 20_000, "2 connections live");
    const outcomes = await s.collectOutcomes(S);

    // More NACKs than messages: every message is NACKed about twice in a row (backoff doubles).
    const BURST = 300;
    const MESSAGES = 150;
    await admin.setFaults({ nackBurst: { code: "SERVICE_UNAVAILABLE", count: BURST } });
    const ids = await publishDownstream(jetstream(s.nc), { senderId: S, prefix: "su", count: MESSAGES });
    await outcomes.waitForAll(ids, 30_000);
    await waitDownstreamSettled(s.nc, S, 10_000);

    assertExactlyOneOutcomeEach(outcomes, ids); // all acked, none missing, none twice
    const all = outcomesOf(outcomes, ids);
    const retried = all.filter((o) => o.attempts > 1);
    const extraSends = all.reduce((n, o) => n + o.attempts - 1, 0);
    // The burst NACKed exactly BURST sends; each NACK cost exactly one more send of that message.
    const stats = await admin.stats();
    expect(stats.counters.nacked.SERVICE_UNAVAILABLE).toBe(BURST);
    expect(extraSends).toBe(BURST);
    expect(stats.counters.acked).toBe(MESSAGES);
    expect(stats.counters.downstreamReceived).toBe(MESSAGES + BURST);
    expect((await admin.faults()).nackBurst?.count ?? 0).toBe(0);
    expect(retried.length).toBeGreaterThan(0);
    expect(all.filter((o) => o.attempts > 2).length).toBeGreaterThan(0);
    for (const o of all) {
      expect(o.retries, o.message_id).toBe(o.attempts - 1);
      expect(o.attempts, o.message_id).toBeLessThanOrEqual(1 + 8);
      // Backoff, not an immediate resend: from the first send to the ACK at least the delays.
      if (o.attempts > 1) {
        expect(spanMs(o), o.message_id).toBeGreaterThanOrEqual(
          minBackoffMs(o.attempts - 1, su.baseMs, su.maxMs),
        );
      }
    }
    const counters = await workerCounters(worker);
    expect(counters["retries{service-unavailable}"]).toBe(BURST);
    // NACKed sends never reach a device: each message arrived exactly once.
    const ledger = await assertLedger(admin, S, ids, 0);
    await assertNoPendingViolations(admin);
    note(NAME, "service-unavailable done", {
      ms: Date.now() - t0,
      retried: retried.length,
      maxAttempts: Math.max(...all.map((o) => o.attempts)),
      duplicateArrivals: ledger.duplicateArrivals,
    });
  });

  it("INTERNAL_SERVER_ERROR: a burst is retried and acked; always failing ends nacked after 1 + maxRetries", async () => {
    const t0 = Date.now();
    const s = await startStaticScenario(`${NAME}-ise`);
    const admin = s.cluster.emulator.admin;
    const ise = { baseMs: 100, maxMs: 400 }; // maxRetries: default 3
    const worker = await startConfiguredWorker(s, "ise-w", { retry: { internalError: ise } });
    await admin.waitLive(S, (l) => l.length === 2, 20_000, "2 connections live");
    const outcomes = await s.collectOutcomes(S);
    const js = jetstream(s.nc);

    // Part 1: a burst of 40 NACKs over 100 messages: every message ends acked.
    const BURST = 40;
    await admin.setFaults({ nackBurst: { code: "INTERNAL_SERVER_ERROR", count: BURST } });
    const ids = await publishDownstream(js, { senderId: S, prefix: "ise-burst", count: 100 });
    await outcomes.waitForAll(ids, 30_000);
    assertExactlyOneOutcomeEach(outcomes, ids);
    const all = outcomesOf(outcomes, ids);
    expect(all.reduce((n, o) => n + o.attempts - 1, 0)).toBe(BURST);
    for (const o of all) {
      expect(o.attempts, o.message_id).toBeLessThanOrEqual(1 + 3);
      if (o.attempts > 1) {
        expect(spanMs(o), o.message_id).toBeGreaterThanOrEqual(
          minBackoffMs(o.attempts - 1, ise.baseMs, ise.maxMs),
        );
      }
    }
    let stats = await admin.stats();
    expect(stats.counters.nacked.INTERNAL_SERVER_ERROR).toBe(BURST);
    await assertLedger(admin, S, ids, 0);

    // Part 2: every send NACKed: each message is sent 1 + 3 times, then ends nacked.
    await admin.setFaults({ nack: { INTERNAL_SERVER_ERROR: 1 } });
    const failing = await publishDownstream(js, { senderId: S, prefix: "ise-always", count: 5 });
    await outcomes.waitForAll(failing, 30_000);
    await admin.setFaults({});
    await waitDownstreamSettled(s.nc, S, 10_000);
    assertExactlyOneOutcomeEach(outcomes, failing, { requireAcked: false });
    for (const id of failing) {
      const o = onlyOutcome(outcomes, id);
      expect(o.status, id).toBe("nacked");
      expect(o.code, id).toBe("INTERNAL_SERVER_ERROR");
      expect(o.description, id).toBe(NACK_TEXTS.internalServerError());
      expect(o.attempts, id).toBe(1 + 3);
      expect(o.retries, id).toBe(3);
      expect(o.token_action, id).toBeUndefined();
      expect(spanMs(o), id).toBeGreaterThanOrEqual(minBackoffMs(3, ise.baseMs, ise.maxMs));
    }
    stats = await admin.stats();
    expect(stats.counters.nacked.INTERNAL_SERVER_ERROR).toBe(BURST + failing.length * 4);
    const failedLedger = await ledgerReport(admin, S, failing);
    expect(failedLedger.notDelivered.sort()).toEqual([...failing].sort()); // never reached a device
    const counters = await workerCounters(worker);
    expect(counters["retries{internal-error}"]).toBe(BURST + failing.length * 3);
    expect(counters["nacked{INTERNAL_SERVER_ERROR}"]).toBe(failing.length);
    await assertNoPendingViolations(admin);
    note(NAME, "internal-server-error done", { ms: Date.now() - t0 });
  });

  it("final codes: unregistered, malformed token, rotated token, bad time_to_live, unparseable, expired", async () => {
    const t0 = Date.now();
    const s = await startStaticScenario(`${NAME}-final`);
    const admin = s.cluster.emulator.admin;
    const first = await startConfiguredWorker(s, "final-w1", {});
    await admin.waitLive(S, (l) => l.length === 2, 20_000, "2 connections live");
    const outcomes = await s.collectOutcomes(S);
    const js = jetstream(s.nc);

    const unregistered = "it-unregistered:APA91b_test";
    const rotated = "it-rotated-old:APA91b_test";
    const canonical = "it-rotated-new:APA91b_test";
    await admin.addDevice({ token: unregistered });
    await unregisterDevice(admin, unregistered);
    await admin.addDevice({ token: rotated });
    await admin.addDevice({ token: canonical });
    await rotateDevice(admin, rotated, canonical);

    const ok = ["fin-ok-0", "fin-ok-1"];
    const unreg = ["fin-unreg-0", "fin-unreg-1"];
    const rot = ["fin-rot-0", "fin-rot-1"];
    for (const [i, id] of ok.entries())
      await publishJson(js, S, id, { to: deviceToken(i), data: { a: "b" } });
    for (const id of unreg) await publishJson(js, S, id, { to: unregistered, data: { a: "b" } });
    for (const id of rot) await publishJson(js, S, id, { to: rotated, data: { a: "b" } });
    await publishJson(js, S, "fin-badtoken", { to: "bad token!", data: { a: "b" } });
    await publishJson(js, S, "fin-badttl", { to: deviceToken(3), time_to_live: "abc", data: { a: "b" } });
    await publishRaw(js, S, '{"to": "x", "message_id": "fin-unparseable", ', "fin-unparseable");
    const sent = [...ok, ...unreg, ...rot];
    const workerRejected = ["fin-badtoken", "fin-badttl", "fin-unparseable"];
    const ids = [...sent, ...workerRejected];
    await outcomes.waitForAll(ids, 20_000);
    await waitDownstreamSettled(s.nc, S, 10_000);
    assertExactlyOneOutcomeEach(outcomes, ids, { requireAcked: false });

    for (const id of ok) {
      const o = onlyOutcome(outcomes, id);
      expect(o.status, id).toBe("acked");
      expect(o.token_action, id).toBeUndefined();
    }
    for (const id of unreg) {
      const o = onlyOutcome(outcomes, id);
      expect(o, id).toMatchObject({
        status: "nacked",
        code: "DEVICE_UNREGISTERED",
        description: NACK_TEXTS.deviceUnregistered(),
        token_action: "remove",
        to: unregistered,
        attempts: 1, // final: not retried
        retries: 0,
      });
    }
    for (const id of rot) {
      const o = onlyOutcome(outcomes, id);
      expect(o, id).toMatchObject({
        status: "acked",
        canonical_registration_id: canonical,
        token_action: "replace",
        new_token: canonical,
        to: rotated,
        attempts: 1,
      });
    }
    expect(onlyOutcome(outcomes, "fin-badtoken")).toMatchObject({
      status: "rejected",
      rejected_by: "worker",
      code: "BAD_REGISTRATION",
      description: "Invalid token on 'to' field: bad token!",
      token_action: "remove",
      to: "bad token!",
      attempts: 0,
    });
    expect(onlyOutcome(outcomes, "fin-badttl")).toMatchObject({
      status: "rejected",
      rejected_by: "worker",
      code: "INVALID_JSON",
      description: 'InvalidJson: JSON_TYPE_ERROR : Field "time_to_live" must be a JSON java.lang.Number: abc',
      attempts: 0,
    });
    expect(onlyOutcome(outcomes, "fin-badttl").token_action).toBeUndefined();
    // Unparseable: the id comes from Nats-Msg-Id, `to` is unreadable, CCS's stanza error is reported.
    expect(onlyOutcome(outcomes, "fin-unparseable")).toMatchObject({
      status: "rejected",
      rejected_by: "worker",
      code: "STANZA_ERROR",
      to: null,
      attempts: 0,
      stanza_error: { code: "400", type: "modify", condition: "bad-request" },
    });

    // Emulator side: only the valid requests were sent; the rotated ones reached the canonical device.
    const stats = await admin.stats();
    expect(stats.counters.downstreamReceived).toBe(sent.length);
    expect(stats.counters.nacked.DEVICE_UNREGISTERED).toBe(unreg.length);
    expect(stats.counters.acked).toBe(ok.length + rot.length);
    const ledger = await ledgerReport(admin, S, ids);
    expect(ledger.notDelivered.sort()).toEqual([...unreg, ...workerRejected].sort());
    expect(ledger.duplicateArrivals).toBe(0);
    const canonicalDevice = await admin.device(canonical);
    expect(canonicalDevice.ledger.map((e) => e.messageId).sort()).toEqual([...rot].sort());

    // Expired: published while no worker runs with time_to_live 0; the next worker starts > 1 s later.
    const stopped = await first.handle.kill("SIGTERM");
    expect(stopped.code).toBe(0);
    await publishJson(js, S, "fin-expired", { to: deviceToken(5), time_to_live: 0, data: { a: "b" } });
    const publishedAt = Date.now();
    await new Promise((r) => setTimeout(r, 1_300)); // the message must be older than its TTL (whole seconds)
    expect(Date.now() - publishedAt).toBeGreaterThan(1_000);
    await startConfiguredWorker(s, "final-w2", {});
    await outcomes.waitForAll(["fin-expired"], 20_000);
    await waitDownstreamSettled(s.nc, S, 10_000);
    assertExactlyOneOutcomeEach(outcomes, [...ids, "fin-expired"], { requireAcked: false });
    const expired = onlyOutcome(outcomes, "fin-expired");
    expect(expired).toMatchObject({ status: "expired", code: "TTL_EXPIRED", attempts: 0 });
    expect(expired.worker_id).toBe("final-w2");
    expect((await admin.stats()).counters.downstreamReceived).toBe(sent.length); // never sent
    expect((await ledgerReport(admin, S, ["fin-expired"])).notDelivered).toEqual(["fin-expired"]);
    await assertNoPendingViolations(admin);
    note(NAME, "final codes done", { ms: Date.now() - t0 });
  });

  it("DEVICE_MESSAGE_RATE_EXCEEDED: a burst to one device is retried slower and acked; past the budget it ends nacked", async () => {
    const t0 = Date.now();
    const s = await startStaticScenario(`${NAME}-rate`);
    const admin = s.cluster.emulator.admin;
    const rate = { baseMs: 500, maxMs: 2_000 }; // maxRetries: default 5
    const worker = await startConfiguredWorker(s, "rate-w", { retry: { deviceRate: rate } });
    await admin.waitLive(S, (l) => l.length === 2, 20_000, "2 connections live");
    const outcomes = await s.collectOutcomes(S);
    const js = jetstream(s.nc);

    // Part 1: 10 messages/s per device; 30 at once to one device. Within the budget of 5 retries.
    await admin.setConfig({ deviceRateLimit: { messages: 10, perMs: 1_000 } });
    const device = "it-rate-device:APA91b_test";
    const ids = await publishDownstream(js, {
      senderId: S,
      prefix: "rate",
      count: 30,
      extra: () => ({ to: device }),
    });
    await outcomes.waitForAll(ids, 30_000);
    assertExactlyOneOutcomeEach(outcomes, ids); // all acked, none nacked
    const all = outcomesOf(outcomes, ids);
    const retried = all.filter((o) => o.attempts > 1);
    expect(retried.length).toBeGreaterThan(0);
    let stats = await admin.stats();
    const rateNacks = stats.counters.nacked.DEVICE_MESSAGE_RATE_EXCEEDED ?? 0;
    expect(all.reduce((n, o) => n + o.attempts - 1, 0)).toBe(rateNacks);
    for (const o of retried) {
      expect(o.attempts, o.message_id).toBeLessThanOrEqual(1 + 5);
      // Slower: at least the device-rate backoff from 500 ms, not an immediate resend.
      expect(spanMs(o), o.message_id).toBeGreaterThanOrEqual(
        minBackoffMs(o.attempts - 1, rate.baseMs, rate.maxMs),
      );
    }
    const ledger = await ledgerReport(admin, S, ids);
    expect(ledger.notDelivered).toEqual([]);
    expect(ledger.duplicateArrivals).toBe(0);
    expect((await admin.device(device)).ledger).toHaveLength(ids.length);

    // Part 2: 1 message per minute to a fresh device: the first is acked, the others use up the
    // 5 retries (500+1000+2000+2000+2000 ms) and end nacked with the code.
    await admin.setConfig({ deviceRateLimit: { messages: 1, perMs: 60_000 } });
    const slow = "it-rate-slow:APA91b_test";
    const over = await publishDownstream(js, {
      senderId: S,
      prefix: "rate-over",
      count: 3,
      concurrency: 1,
      extra: () => ({ to: slow }),
    });
    await outcomes.waitForAll(over, 30_000);
    await waitDownstreamSettled(s.nc, S, 10_000);
    assertExactlyOneOutcomeEach(outcomes, over, { requireAcked: false });
    const overOutcomes = outcomesOf(outcomes, over);
    const acked = overOutcomes.filter((o) => o.status === "acked");
    const nacked = overOutcomes.filter((o) => o.status === "nacked");
    expect(acked).toHaveLength(1);
    expect(nacked).toHaveLength(2);
    for (const o of nacked) {
      expect(o, o.message_id).toMatchObject({
        code: "DEVICE_MESSAGE_RATE_EXCEEDED",
        description: NACK_TEXTS.deviceMessageRateExceeded(),
        attempts: 1 + 5,
        retries: 5,
      });
      expect(o.token_action).toBeUndefined();
      expect(spanMs(o), o.message_id).toBeGreaterThanOrEqual(minBackoffMs(5, rate.baseMs, rate.maxMs));
    }
    stats = await admin.stats();
    const overLedger = await ledgerReport(admin, S, over);
    expect(overLedger.notDelivered.sort()).toEqual(nacked.map((o) => o.message_id).sort());
    const counters = await workerCounters(worker);
    expect(counters["nacked{DEVICE_MESSAGE_RATE_EXCEEDED}"]).toBe(2);
    expect(counters["retries{device-rate}"]).toBe(
      (stats.counters.nacked.DEVICE_MESSAGE_RATE_EXCEEDED ?? 0) - 2,
    );
    await assertNoPendingViolations(admin);
    note(NAME, "device-rate done", {
      ms: Date.now() - t0,
      retried: retried.length,
      rateNacks,
      maxAttempts: Math.max(...all.map((o) => o.attempts)),
    });
  });
});
