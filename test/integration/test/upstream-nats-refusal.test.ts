// JetStream refuses the worker's internal upstream publish for a while: the worker must keep the message
// un-ACKed and retry on the same connection, then persist and ACK it once JetStream accepts again —
// without closing the connection (CCS would only resend it on a new one) and without a new connection.
//  - the internal stream at its limits (max_msg_size 1): every publish is refused;
//  - nats-server stopped and started again (the JetStream store is kept).

import { waitFor } from "@ccs/testkit";
import { jetstreamManager } from "@nats-io/jetstream";
import { describe, expect, it } from "vitest";
import { DEMO_API_KEY, DEMO_SENDER_ID, type ServiceProcess, type WorkerStatus } from "../support/cluster.ts";
import { note, type Scenario, startScenario } from "../support/scenario.ts";
import { KeyedStreamCollector, UP_STREAM, upstreamKey } from "../support/upstream.ts";
import { backlog } from "../support/upstream-rounds.ts";

const NAME = "upstream-nats-refusal";
const INTERNAL_UP_STREAM = "CCS_INTERNAL_UP";
const CATEGORY = "com.example.refusal";
const DEVICE = "refusal-device:APA91b_refusal";
const MESSAGES = 5;

async function persistErrors(worker: ServiceProcess): Promise<number> {
  return (await worker.status<WorkerStatus>())?.counters.upstream_persist_errors ?? 0;
}

async function oneWorkerOneConnection(name: string): Promise<{ s: Scenario; worker: ServiceProcess }> {
  const s = await startScenario({
    name,
    senders: [{ senderId: DEMO_SENDER_ID, apiKey: DEMO_API_KEY, connections: 1 }],
  });
  await s.cluster.startCoordinator("nr-coord");
  const worker = await s.cluster.startWorker("nr-worker");
  await s.cluster.emulator.admin.addDevice({ token: DEVICE, category: CATEGORY });
  return { s, worker };
}

/**
 * Posts MESSAGES upstream messages while JetStream refuses, checks that they stay un-ACKed on the one
 * live connection while the worker retries, lets JetStream accept again, and checks they are published
 * once and ACKed on that same connection.
 */
async function refuseThenAccept(
  s: Scenario,
  worker: ServiceProcess,
  label: string,
  refuse: () => Promise<void>,
  accept: () => Promise<void>,
): Promise<void> {
  const admin = s.cluster.emulator.admin;
  const [live] = await admin.waitLive(DEMO_SENDER_ID, (l) => l.length === 1, 20_000, "one live connection");
  if (live === undefined) throw new Error("no live connection");
  const before = await admin.stats();
  const errorsBefore = await persistErrors(worker);
  await refuse();
  const keys: string[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const messageId = `${label}-${i}`;
    keys.push(`${DEVICE}|${messageId}`);
    await admin.sendUpstream({ from: DEVICE, category: CATEGORY, messageId, timeToLive: 600 });
  }
  // Refused and retried beyond any small fixed number of attempts (the worker used to give up after 3
  // and leave the message un-ACKed for good), still un-ACKed on the live connection meanwhile.
  await waitFor(async () => (await persistErrors(worker)) > errorsBefore + 3 * MESSAGES, {
    timeoutMs: 40_000,
    description: "the worker's publishes refused and retried more than 3 times",
  });
  const during = await admin.stats();
  expect(during.connections.find((c) => c.id === live.id)?.unackedUpstream).toBe(MESSAGES);
  expect(during.counters.upstreamAcked).toBe(before.counters.upstreamAcked);
  await accept();
  // Read from the stream's start once NATS is back (the test's own connection reconnects meanwhile).
  const up = await waitFor(
    () => KeyedStreamCollector.start(s.nc, UP_STREAM, `ccs.up.${DEMO_SENDER_ID}.>`, upstreamKey),
    { timeoutMs: 30_000, intervalMs: 250, description: "JetStream answering the test again" },
  );
  await up.waitForAll(keys, 30_000, `${label}: published once JetStream accepts`);
  const after = await waitFor(
    async () => {
      const st = await admin.stats();
      return st.counters.upstreamAcked === before.counters.upstreamAcked + MESSAGES ? st : undefined;
    },
    { timeoutMs: 20_000, description: `${label}: ACKed to CCS` },
  );
  // ACKed on the very connection that carried them: no new connection, nothing resent.
  const bySender = after.bySender[DEMO_SENDER_ID];
  expect(after.connections.find((c) => c.id === live.id)?.state).toBe("online");
  expect(bySender?.connectionsOpened).toBe(before.bySender[DEMO_SENDER_ID]?.connectionsOpened);
  expect(after.counters.upstreamRedeliveries).toBe(before.counters.upstreamRedeliveries);
  expect(backlog(after)).toEqual({ unacked: 0, awaitingNewConnection: 0, queued: 0 });
  expect(up.duplicated()).toEqual({});
  expect(up.total).toBe(MESSAGES);
  note(NAME, label, { persistErrors: (await persistErrors(worker)) - errorsBefore });
  await up.close();
}

describe(NAME, () => {
  it("the internal stream at its limits: retried on the same connection, published and ACKed once it has room", async () => {
    const { s, worker } = await oneWorkerOneConnection(`${NAME}-limits`);
    const jsm = await jetstreamManager(s.nc);
    const original = (await jsm.streams.info(INTERNAL_UP_STREAM)).config;
    await refuseThenAccept(
      s,
      worker,
      "limits",
      async () => {
        await jsm.streams.update(INTERNAL_UP_STREAM, { ...original, max_msg_size: 1 });
      },
      async () => {
        await jsm.streams.update(INTERNAL_UP_STREAM, { ...original });
      },
    );
  });

  it("nats-server stopped and started again: retried on the same connection, published and ACKed after", async () => {
    const { s, worker } = await oneWorkerOneConnection(`${NAME}-restart`);
    const nats = s.cluster.infra.nats;
    await refuseThenAccept(
      s,
      worker,
      "restart",
      () => nats.stop(),
      () => nats.start(),
    );
  });
});
