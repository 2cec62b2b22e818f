import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { Redis } from "ioredis";
import { describe, expect, test } from "vitest";
import { detectContainerRuntime, startInfrastructure } from "../src/index.ts";

const runtime = await detectContainerRuntime();
const skipReason = runtime.available ? "" : runtime.reason;
if (!runtime.available) {
  console.warn(`[testkit] container path SKIPPED: no container runtime reachable (${skipReason})`);
}

describe("container mode (testcontainers)", () => {
  test.skipIf(!runtime.available)(
    `NATS + Redis in containers keep their URL across kill/start${runtime.available ? "" : ` [skipped: ${skipReason}]`}`,
    { timeout: 240_000 },
    async () => {
      const infra = await startInfrastructure({ mode: "container", redisNodes: 1 });
      try {
        const { nats } = infra;
        const [redisServer] = infra.redis;
        if (redisServer === undefined) {
          throw new Error("no redis");
        }
        expect(nats.mode).toBe("container");
        const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
        const jsm = await jetstreamManager(nc);
        await jsm.streams.add({ name: "C", subjects: ["c.>"] });
        await jetstream(nc).publish("c.1", "x");
        const url = nats.url;
        await nats.kill();
        expect(nats.state).toBe("stopped");
        await nats.start();
        expect(nats.url).toBe(url);
        expect((await jsm.streams.info("C")).state.messages).toBe(1);
        await nc.close();

        const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
        await redis.set("k", "v");
        expect(await redis.get("k")).toBe("v");
        await redisServer.pause();
        await redisServer.resume();
        expect(await redis.get("k")).toBe("v");
        redis.disconnect();
      } finally {
        await infra.dispose();
      }
      expect(infra.nats.state).toBe("disposed");
    },
  );
});
