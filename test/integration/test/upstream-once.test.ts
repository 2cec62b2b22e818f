// Upstream exactly-once through real processes: the emulator sends device messages (small per-device ids
// that repeat across devices) and delivery receipts; a worker that holds some of them un-ACKed is frozen
// and SIGKILLed, so the emulator redelivers them on the sender's next new connections (the surviving
// worker's, once it takes over the slots, or a restarted worker's in static mode); then every
// message is sent again by the emulator (as CCS may). Each (from, message_id) must be published exactly
// once on ccs.up.<sender>.<category>, each receipt once on ccs.receipt.<sender>.

import { waitFor } from "@ccs/testkit";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { type CoordinatorStatus, DEMO_API_KEY, DEMO_SENDER_ID, TIMINGS } from "../support/cluster.ts";
import { note, startScenario } from "../support/scenario.ts";
import {
  assertExactlyOneOutcomeEach,
  assertLedger,
  assertNoPendingViolations,
  publishDownstream,
} from "../support/traffic.ts";
import {
  KeyedStreamCollector,
  RECEIPT_STREAM,
  receiptKey,
  UP_STREAM,
  upstreamKey,
} from "../support/upstream.ts";

const NAME = "upstream-once";
const DEVICES = 5;
const IDS_PER_DEVICE = 40;
const RECEIPTS = 200;
const CATEGORY = "com.example.it";
const INTERNAL_UP_STREAM = "CCS_INTERNAL_UP";

function deviceOf(d: number): string {
  return `up-device-${d}:APA91b_upstream`;
}

describe(NAME, () => {
  // static: two static workers (each holds both connections) and one coordinator de-duplicating;
  // coordinated: two coordinators (a consumer group racing on copies) assigning 4 slots to two workers.
  it.each(["static", "coordinated"] as const)(
    "%s: upstream messages and receipts redelivered after a worker crash are published once",
    async (mode) => {
      const t0 = Date.now();
      const coordinated = mode === "coordinated";
      const s = await startScenario({
        name: `${NAME}-${mode}`,
        senders: [{ senderId: DEMO_SENDER_ID, apiKey: DEMO_API_KEY, connections: coordinated ? 4 : 2 }],
      });
      const { cluster, nc } = s;
      const admin = cluster.emulator.admin;
      if (coordinated) {
        await Promise.all([cluster.startCoordinator("up-coord-1"), cluster.startCoordinator("up-coord-2")]);
      }
      const [a, b] = await Promise.all([
        cluster.startWorker("up-a", { coordinated }),
        cluster.startWorker("up-b", { coordinated }),
      ]);
      if (a === undefined || b === undefined) throw new Error("workers did not start");
      if (coordinated) {
        await cluster.waitAllSlotsOwned(
          25_000,
          (rows) => rows.filter((r) => r.owner === "up-b").length === 2,
          "slots split between the workers",
        );
      } else {
        await cluster.startCoordinator("up-coord-1");
      }
      await admin.waitLive(DEMO_SENDER_ID, (l) => l.length === 4, 20_000, "4 live connections");
      for (let d = 0; d < DEVICES; d++) await admin.addDevice({ token: deviceOf(d), category: CATEGORY });

      const up = await KeyedStreamCollector.start(nc, UP_STREAM, `ccs.up.${DEMO_SENDER_ID}.>`, upstreamKey);
      const receipts = await KeyedStreamCollector.start(
        nc,
        RECEIPT_STREAM,
        `ccs.receipt.${DEMO_SENDER_ID}`,
        receiptKey,
      );
      const outcomes = await s.collectOutcomes(DEMO_SENDER_ID);

      // Freeze b: whatever the emulator routes to its connections stays un-ACKed.
      b.handle.signal("SIGSTOP");
      const keys: string[] = [];
      const sendAll = async (): Promise<void> => {
        const sends: Promise<unknown>[] = [];
        for (let i = 1; i <= IDS_PER_DEVICE; i++) {
          for (let d = 0; d < DEVICES; d++) {
            sends.push(
              admin.sendUpstream({
                from: deviceOf(d),
                category: CATEGORY,
                messageId: String(i),
                data: { i: String(i), d: String(d) },
                timeToLive: 600,
              }),
            );
          }
        }
        await Promise.all(sends);
      };
      for (let i = 1; i <= IDS_PER_DEVICE; i++)
        for (let d = 0; d < DEVICES; d++) keys.push(`${deviceOf(d)}|${i}`);
      await sendAll();
      // Downstream with receipts: their receipts come back as upstream, also partly to b's connections.
      const js = jetstream(nc);
      const receiptIds = await publishDownstream(js, {
        senderId: DEMO_SENDER_ID,
        prefix: "rcpt",
        count: RECEIPTS,
        devices: DEVICES,
        extra: () => ({ delivery_receipt_requested: true }),
      });
      // Some upstream is stuck un-ACKed on b's (frozen) connections.
      const stuck = await waitFor(
        async () => {
          const st = await admin.stats();
          const n = st.connections.reduce((sum, c) => sum + c.unackedUpstream, 0);
          return n > 0 ? n : undefined;
        },
        { timeoutMs: 10_000, description: "un-ACKed upstream on the frozen worker's connections" },
      );
      await b.handle.kill("SIGKILL"); // the kernel closes b's sockets
      const killedAt = Date.now();
      // CCS resends what b left un-ACKed only on the sender's next *new* connection (reference 001), not
      // on a's open ones. Coordinated: the leader moves b's slots to a, which opens them. Static: nothing
      // opens a connection until b's supervisor restarts it (as a Kubernetes Deployment would).
      if (!coordinated) await cluster.startWorker("up-b2");
      note(`${NAME}-${mode}`, "froze and killed b", { unackedUpstream: stuck });

      await up.waitForAll(keys, 30_000, "every upstream message published");
      // Receipts of messages that b had in flight only come after JetStream redelivers them (ack_wait).
      await outcomes.waitForAll(receiptIds, TIMINGS.ackWaitMs + 30_000);
      await receipts.waitForAll(receiptIds, 30_000, "every receipt published");
      const statsAfterKill = await admin.stats();
      expect(statsAfterKill.counters.upstreamRedeliveries).toBeGreaterThan(0);
      note(`${NAME}-${mode}`, "all published once after the crash", {
        sinceKillMs: Date.now() - killedAt,
        upstreamRedeliveries: statsAfterKill.counters.upstreamRedeliveries,
      });

      // CCS may send a message again (e.g. an ACK it never saw): every (device, id) once more. The worker's
      // Nats-Msg-Id would drop the copies inside CCS_INTERNAL_UP's 2 min duplicate window; shorten the window
      // so that they reach the coordinator, whose Redis de-duplication must skip them.
      const jsm = await jetstreamManager(nc);
      const internal = await jsm.streams.info(INTERNAL_UP_STREAM);
      await jsm.streams.update(INTERNAL_UP_STREAM, { ...internal.config, duplicate_window: 500 * 1_000_000 });
      await new Promise((r) => setTimeout(r, 1_000)); // the window of the first copies must have passed
      await sendAll();
      await waitFor(
        async () => {
          const st = await admin.stats();
          return (
            st.counters.upstreamAcked >= 2 * keys.length + RECEIPTS &&
            st.bySender[DEMO_SENDER_ID]?.queuedUpstream === 0
          );
        },
        { timeoutMs: 20_000, description: "the re-sent upstream messages ACKed by the worker" },
      );
      // The internal stream (work queue) empties once the coordinator has handled every copy.
      await waitFor(async () => (await jsm.streams.info(INTERNAL_UP_STREAM)).state.messages === 0, {
        timeoutMs: 20_000,
        description: "CCS_INTERNAL_UP drained by the coordinator",
      });
      // Every re-sent copy reached a coordinator and was skipped by the Redis de-duplication.
      const replicas = await Promise.all(cluster.coordinators().map((c) => c.status<CoordinatorStatus>()));
      const upstreamCounters = replicas.map(
        (r) => r?.upstream as { duplicates?: number; published?: number },
      );
      const skipped = upstreamCounters.reduce((n, u) => n + (u.duplicates ?? 0), 0);
      expect(skipped).toBeGreaterThanOrEqual(keys.length);
      expect(up.missing(keys)).toEqual([]);
      expect(up.duplicated()).toEqual({});
      expect(up.total).toBe(keys.length);
      expect(up.malformed).toBe(0);
      expect(receipts.missing(receiptIds)).toEqual([]);
      expect(receipts.duplicated()).toEqual({});
      expect(receipts.total).toBe(RECEIPTS);
      assertExactlyOneOutcomeEach(outcomes, receiptIds);
      // The receipts' downstream messages all reached their devices; b's pending window may repeat some.
      await assertLedger(admin, DEMO_SENDER_ID, receiptIds, TIMINGS.windowSize * 2);
      await assertNoPendingViolations(admin);
      const subjects = new Set(up.subjects.values());
      expect([...subjects]).toEqual([`ccs.up.${DEMO_SENDER_ID}.${CATEGORY}`]);
      const final = await admin.stats();
      note(`${NAME}-${mode}`, "done", {
        ms: Date.now() - t0,
        upstreamSent: final.counters.upstreamSent,
        upstreamRedeliveries: final.counters.upstreamRedeliveries,
        upstreamAcked: final.counters.upstreamAcked,
        coordinatorUpstream: upstreamCounters,
      });
      await Promise.all([up.close(), receipts.close()]);
    },
  );
});
