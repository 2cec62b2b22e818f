import { access } from "node:fs/promises";
import { Redis } from "ioredis";
import { afterEach, describe, expect, test } from "vitest";
import {
  PortInUseError,
  type ServerHandle,
  ServerStartError,
  startInfrastructure,
  startRedis,
  waitFor,
} from "../src/index.ts";
import { pidAlive } from "./helpers.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanups.splice(0).map((fn) => fn()));
});

function redisClient(server: ServerHandle): Redis {
  const redis = new Redis(server.url, {
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
    lazyConnect: false,
  });
  cleanups.unshift(async () => redis.disconnect());
  return redis;
}

describe("startRedis (local)", () => {
  test("starts and serves SET/GET; stop/start keeps the URL (data is not persisted)", async () => {
    const server = await startRedis({ mode: "local" });
    cleanups.push(() => server.dispose());
    expect(server.kind).toBe("redis");
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    const redis = redisClient(server);
    await redis.set("greeting", "hello");
    expect(await redis.get("greeting")).toBe("hello");

    await server.stop();
    expect(server.state).toBe("stopped");
    await server.start();
    expect(server.state).toBe("running");
    await waitFor(async () => (await redis.ping()) === "PONG", {
      timeoutMs: 10_000,
      description: "redis client reconnected",
    });
    // Persistence is off: a restarted node is empty.
    expect(await redis.get("greeting")).toBeNull();
  });

  test("three nodes from startInfrastructure are independent; dispose removes everything", async () => {
    const infra = await startInfrastructure({ mode: "local", redisNodes: 3 });
    cleanups.push(() => infra.dispose());
    expect(infra.redis).toHaveLength(3);
    expect(new Set(infra.redis.map((r) => r.port)).size).toBe(3);
    const clients = infra.redis.map(redisClient);
    await Promise.all(clients.map((c, i) => c.set("node", `n${i}`)));
    expect(await Promise.all(clients.map((c) => c.get("node")))).toEqual(["n0", "n1", "n2"]);

    const dirs = [infra.nats.dataDir, ...infra.redis.map((r) => r.dataDir)].filter(
      (d): d is string => d !== undefined,
    );
    expect(dirs).toHaveLength(4);
    for (const dir of dirs) {
      await access(dir);
    }
    const pids = [infra.nats.pid, ...infra.redis.map((r) => r.pid)].filter(
      (p): p is number => p !== undefined,
    );
    expect(pids).toHaveLength(4);

    // Killing one node does not affect the others.
    await infra.redis[1]?.kill();
    expect(await clients[0]?.get("node")).toBe("n0");
    expect(await clients[2]?.get("node")).toBe("n2");

    for (const c of clients) {
      c.disconnect();
    }
    await infra.dispose();
    await infra.dispose();
    for (const pid of pids) {
      expect(pidAlive(pid)).toBe(false);
    }
    for (const dir of dirs) {
      await expect(access(dir)).rejects.toMatchObject({ code: "ENOENT" });
    }
  });

  test("a fixed port already in use fails with a typed cause instead of probing the other server", async () => {
    const first = await startRedis({ mode: "local" });
    cleanups.push(() => first.dispose());
    const err = await startRedis({ mode: "local", port: first.port, readyTimeoutMs: 5_000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ServerStartError);
    expect((err as ServerStartError).cause).toBeInstanceOf(PortInUseError);
    // The first server is untouched.
    expect(first.state).toBe("running");
  });

  test("a server that exits during start-up fails fast with its output in the typed error", async () => {
    const started = Date.now();
    const err = await startRedis({ mode: "local", extraArgs: ["--no-such-directive", "yes"] }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ServerStartError);
    const startErr = err as ServerStartError;
    expect(startErr.kind).toBe("redis");
    expect(startErr.output.join("\n")).toMatch(/no-such-directive/i);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
