// The worker keeps going across a nats-server restart (file storage): every message gets exactly one
// outcome in the outcome stream. Counted from the stream itself, per message id, so a duplicate outcome
// (a re-publish the stream did not de-duplicate) fails the test.

import type { Outcome } from "@ccs/contract";
import type { ServerHandle } from "@ccs/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Harness, startTestNats } from "./support/harness.ts";

let nats: ServerHandle;

beforeAll(async () => {
  nats = await startTestNats();
});
afterAll(async () => {
  await nats?.dispose();
});

describe("NATS restart", () => {
  it("keeps going after nats-server restarts: every message still gets one outcome", async () => {
    const file = { storage: "file" as const };
    const h = await Harness.start(nats.url, {
      senders: [{ senderId: "901", connections: 2 }],
      windowSize: 20,
      config: { streams: { down: file, outcomes: file, upstream: file } },
    });
    try {
      await h.publishMany("901", 200, "before");
      await h.waitForOutcomes(200);
      await nats.restart();
      // Publishing retries until the client has reconnected.
      await h.waitFor(
        async () => {
          try {
            await h.publishMany("901", 200, "after");
            return true;
          } catch {
            return false;
          }
        },
        "publish after restart",
        30_000,
      );
      await h.waitFor(
        async () => (await streamMessages(h)) >= 400,
        "400 outcomes in the outcome stream",
        60_000,
      );
      const counts = await outcomeCounts(h);
      const ids = [
        ...Array.from({ length: 200 }, (_, i) => `before-${i}`),
        ...Array.from({ length: 200 }, (_, i) => `after-${i}`),
      ];
      expect(ids.filter((id) => counts.get(id) !== 1)).toEqual([]);
      expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(400);
    } finally {
      await h.close();
    }
  }, 120_000);
});

async function streamMessages(h: Harness): Promise<number> {
  return (await h.jsm.streams.info(h.config.streams.outcomes.name)).state.messages;
}

/** Every outcome message in the stream, counted per message id. */
async function outcomeCounts(h: Harness): Promise<Map<string, number>> {
  const total = await streamMessages(h);
  const consumer = await h.js.consumers.get(h.config.streams.outcomes.name);
  const counts = new Map<string, number>();
  let read = 0;
  const messages = await consumer.consume();
  for await (const m of messages) {
    const id = m.json<Outcome>().message_id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
    if (++read >= total) break;
  }
  await messages.close();
  return counts;
}
