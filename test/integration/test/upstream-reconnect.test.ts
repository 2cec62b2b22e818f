// The reconnect race of upstream messages, made deterministic with real processes and real signals.
//
// CCS resends an un-ACKed upstream message "the next time a new XMPP connection is established"
// (reference 001), and the emulator sends such messages first on the new connection, in the same burst
// as the end of the session set-up. A worker that attaches its upstream path only once the pipeline
// takes the new connection finds the message there before anyone listens: it was logged ("upstream
// message with no listener") and left un-ACKed on a live connection for good.
//
// Each round: the worker is frozen (SIGSTOP), the emulator sends an upstream message to its only
// connection (un-ACKed: the worker cannot read), the connection is reset, the worker is resumed
// (SIGCONT) and reconnects at once, and the emulator resends the message first on the replacement. The
// message must be published once on ccs.up.<sender>.<category> and ACKed, with nothing left un-ACKed.

import { waitFor } from "@ccs/testkit";
import { describe, expect, it } from "vitest";
import { DEMO_API_KEY, DEMO_SENDER_ID, type ServiceProcess } from "../support/cluster.ts";
import type { EmulatorAdmin } from "../support/emulator-admin.ts";
import { note, startScenario } from "../support/scenario.ts";
import { KeyedStreamCollector, UP_STREAM, upstreamKey } from "../support/upstream.ts";

const NAME = "upstream-reconnect";
const ROUNDS = 4;
const CATEGORY = "com.example.reconnect";
const DEVICE = "reconnect-device:APA91b_reconnect";

async function theOnlyLiveConnection(admin: EmulatorAdmin): Promise<string> {
  const [live] = await admin.waitLive(DEMO_SENDER_ID, (l) => l.length === 1, 20_000, "one live connection");
  if (live === undefined) throw new Error("no live connection");
  return live.id;
}

describe(NAME, () => {
  it.each(["static", "coordinated"] as const)(
    "%s: a message un-ACKed when its connection is reset is resent first on the replacement, published once and ACKed",
    async (mode) => {
      const coordinated = mode === "coordinated";
      const s = await startScenario({
        name: `${NAME}-${mode}`,
        senders: [{ senderId: DEMO_SENDER_ID, apiKey: DEMO_API_KEY, connections: 1 }],
      });
      const { cluster, nc } = s;
      const admin = cluster.emulator.admin;
      await cluster.startCoordinator("rc-coord");
      const worker: ServiceProcess = await cluster.startWorker("rc-worker", { coordinated });
      if (coordinated) await cluster.waitAllSlotsOwned(20_000);
      await admin.addDevice({ token: DEVICE, category: CATEGORY });
      const up = await KeyedStreamCollector.start(nc, UP_STREAM, `ccs.up.${DEMO_SENDER_ID}.>`, upstreamKey);
      const keys: string[] = [];

      for (let round = 1; round <= ROUNDS; round++) {
        const connectionId = await theOnlyLiveConnection(admin);
        worker.handle.signal("SIGSTOP");
        try {
          const messageId = `${mode}-${round}`;
          keys.push(`${DEVICE}|${messageId}`);
          await admin.sendUpstream({ from: DEVICE, category: CATEGORY, messageId, timeToLive: 600 });
          await waitFor(
            async () =>
              (await admin.stats()).connections.find((c) => c.id === connectionId)?.unackedUpstream === 1,
            {
              timeoutMs: 10_000,
              description: "the message sent, un-ACKed, on the frozen worker's connection",
            },
          );
          await admin.resetConnection(connectionId);
          await waitFor(
            async () => (await admin.stats()).bySender[DEMO_SENDER_ID]?.awaitingNewConnection === 1,
            { timeoutMs: 10_000, description: "the message waiting for the sender's next new connection" },
          );
        } finally {
          worker.handle.signal("SIGCONT");
        }
        await up.waitForAll(keys, 20_000, `round ${round}: the resent message published`);
        const settled = await waitFor(
          async () => {
            const st = await admin.stats();
            const sender = st.bySender[DEMO_SENDER_ID];
            const unacked = st.connections.reduce((n, c) => n + c.unackedUpstream, 0);
            return st.counters.upstreamAcked === round &&
              unacked === 0 &&
              sender?.awaitingNewConnection === 0 &&
              sender.queuedUpstream === 0
              ? st
              : undefined;
          },
          { timeoutMs: 20_000, description: `round ${round}: the resent message ACKed, nothing un-ACKed` },
        );
        // Resent on the replacement: the new connection's session set-up and the message arrive together.
        expect(settled.counters.upstreamRedeliveries).toBe(round);
        note(`${NAME}-${mode}`, `round ${round}`, { connectionId, redeliveries: round });
      }

      expect(up.missing(keys)).toEqual([]);
      expect(up.duplicated()).toEqual({});
      expect(up.total).toBe(ROUNDS);
      const lines = worker.log.lines;
      expect(lines.filter((l) => l.includes("with no listener"))).toEqual([]);
      expect(lines.filter((l) => l.includes("no longer owns"))).toEqual([]);
      await up.close();
    },
  );
});
