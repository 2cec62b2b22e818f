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
        () =>
          new Set(h.outcomes.filter((o) => o.message_id.startsWith("after")).map((o) => o.message_id))
            .size === 200,
        "200 outcomes after the restart",
        60_000,
      );
      expect(h.outcomes.filter((o) => o.message_id.startsWith("before"))).toHaveLength(200);
    } finally {
      await h.close();
    }
  }, 120_000);
});
