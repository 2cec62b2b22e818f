import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AssignmentStore,
  createKeySchema,
  RedisNodes,
  SlotOwnershipClient,
  SlotStatusStore,
  WorkerRegistry,
} from "@ccs/cluster";
import { type Infrastructure, startInfrastructure, waitFor } from "@ccs/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Coordinator, parseCoordinatorConfig, startCoordinator } from "../src/index.ts";
import { logger } from "./support.ts";

const API_KEY = "AIzaSyTOP-SECRET-api-key-value";

describe("coordinator replicas (in process, real NATS + 3 Redis nodes)", () => {
  let infra: Infrastructure;
  let dir: string;
  const closers: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    infra = await startInfrastructure({ redisNodes: 3, mode: "local" });
    dir = await mkdtemp(join(tmpdir(), "ccs-coord-"));
  });
  afterAll(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await infra?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  async function writeSenders(senders: unknown[]): Promise<void> {
    const file = join(dir, "senders.json");
    await writeFile(`${file}.tmp`, JSON.stringify({ senders }));
    await rename(`${file}.tmp`, file);
  }

  async function replica(id: string, prefix: string): Promise<Coordinator> {
    const config = await parseCoordinatorConfig({
      coordinatorId: id,
      nats: { servers: [infra.nats.url] },
      redis: { urls: infra.redis.map((r) => r.url), keyPrefix: prefix, commandTimeoutMs: 300 },
      subjectPrefix: "itest",
      sendersFile: join(dir, "senders.json"),
      sendersReloadIntervalMs: 500,
      leader: { ttlMs: 1_500, assignIntervalMs: 100 },
      workers: { ttlMs: 1_500 },
      upstream: { ackWaitMs: 2_000 },
      streams: { publishDuplicateWindowMs: 60_000 },
      http: { host: "127.0.0.1", port: 0 },
    });
    const c = await startCoordinator(config, logger);
    closers.push(() => c.close());
    return c;
  }

  it("assigns slots to a worker, hot-reloads senders, hides keys, and hands leadership over", async () => {
    const prefix = `coord-${Date.now().toString(36)}:`;
    await writeSenders([{ senderId: "100", apiKey: API_KEY, connections: 2 }]);
    const a = await replica("a", prefix);
    const b = await replica("b", prefix);
    await waitFor(() => a.leader.isLeader() || b.leader.isLeader(), {
      timeoutMs: 5_000,
      description: "a leader",
    });
    const [leader, follower] = a.leader.isLeader() ? [a, b] : [b, a];
    expect(follower.leader.isLeader()).toBe(false);

    // A worker joins and takes its slots.
    const nodes = new RedisNodes({ urls: infra.redis.map((r) => r.url), commandTimeoutMs: 300 });
    closers.push(() => nodes.close());
    const keys = createKeySchema(prefix);
    const registry = new WorkerRegistry({ nodes, keys, ttlMs: 1_500 });
    const hb = await registry.register({
      workerId: "w1",
      capacity: 10,
      host: "127.0.0.1",
      statusUrl: "http://127.0.0.1:1/status",
    });
    closers.push(() => hb.close());
    const worker = new SlotOwnershipClient({
      nodes,
      keys,
      workerId: "w1",
      assignments: new AssignmentStore({ nodes, keys }),
      statusStore: new SlotStatusStore({ nodes, keys }),
      leaseTtlMs: 1_500,
      acquireRetryMs: 100,
    });
    closers.push(() => worker.close());
    worker.start();
    await waitFor(() => worker.owned().length === 2, {
      timeoutMs: 5_000,
      description: "worker owns 2 slots",
    });
    await worker.reportHealth("100:0", {
      state: "online",
      pending: 4,
      drains: 1,
      replacementFailures: 0,
      cannotReplace: false,
      connections: [{ id: "c1", state: "online", pending: 4 }],
    });

    // Hot reload: add a sender; its slot gets assigned and owned.
    await writeSenders([
      { senderId: "100", apiKey: API_KEY, connections: 2 },
      { senderId: "200", apiKey: `${API_KEY}-2`, connections: 1 },
    ]);
    await waitFor(() => worker.owned().length === 3, {
      timeoutMs: 5_000,
      description: "worker owns the new sender's slot",
    });

    // Status: workers, slots with owners and tokens, pending; never an API key.
    const res = await fetch(`http://127.0.0.1:${follower.httpPort}/status`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain(API_KEY);
    const status = JSON.parse(text) as {
      role: string;
      workers: { workerId: string; capacity: number; assigned: number }[];
      slots: {
        slot: string;
        assignedTo: string;
        owner: string | null;
        fencingToken: number | null;
        pending: number;
      }[];
      senders: { senderId: string; apiKeySource: string }[];
    };
    expect(status.role).toBe("follower");
    expect(status.workers).toEqual([expect.objectContaining({ workerId: "w1", capacity: 10, assigned: 3 })]);
    expect(status.senders.map((s) => s.senderId)).toEqual(["100", "200"]);
    expect(status.slots.find((s) => s.slot === "100:0")).toMatchObject({
      assignedTo: "w1",
      owner: "w1",
      pending: 4,
    });
    expect((await fetch(`http://127.0.0.1:${leader.httpPort}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${leader.httpPort}/readyz`)).status).toBe(200);

    // Remove a sender: its slot is released.
    await writeSenders([{ senderId: "200", apiKey: `${API_KEY}-2`, connections: 1 }]);
    await waitFor(
      () =>
        worker
          .owned()
          .map((o) => o.slot)
          .join() === "200:0",
      { timeoutMs: 5_000, description: "only 200:0 left" },
    );

    // The leader shuts down: the follower leads at once and keeps the assignment.
    await leader.close();
    await waitFor(() => follower.leader.isLeader(), { timeoutMs: 3_000, description: "follower elected" });
    await writeSenders([{ senderId: "200", apiKey: `${API_KEY}-2`, connections: 2 }]);
    await waitFor(() => worker.owned().length === 2, { timeoutMs: 5_000, description: "new leader assigns" });
    await leader.close();
  });

  it("moves a slot whose owner reports it cannot open a replacement connection", async () => {
    const prefix = `drain-${Date.now().toString(36)}:`;
    await writeSenders([{ senderId: "300", apiKey: API_KEY, connections: 2 }]);
    const c = await replica("solo", prefix);
    await waitFor(() => c.leader.isLeader(), { timeoutMs: 5_000, description: "leader" });
    const nodes = new RedisNodes({ urls: infra.redis.map((r) => r.url), commandTimeoutMs: 300 });
    closers.push(() => nodes.close());
    const keys = createKeySchema(prefix);
    const registry = new WorkerRegistry({ nodes, keys, ttlMs: 1_500 });
    const workers = await Promise.all(
      ["w1", "w2"].map(async (id) => {
        const hb = await registry.register({
          workerId: id,
          capacity: 2,
          host: "h",
          statusUrl: "http://h/status",
        });
        closers.push(() => hb.close());
        const w = new SlotOwnershipClient({
          nodes,
          keys,
          workerId: id,
          assignments: new AssignmentStore({ nodes, keys }),
          statusStore: new SlotStatusStore({ nodes, keys }),
          leaseTtlMs: 1_500,
          acquireRetryMs: 100,
        });
        closers.push(() => w.close());
        w.start();
        return w;
      }),
    );
    const [w1, w2] = workers;
    if (w1 === undefined || w2 === undefined) throw new Error("workers");
    await waitFor(() => w1.owned().length === 1 && w2.owned().length === 1, {
      timeoutMs: 5_000,
      description: "one slot each",
    });
    const stuck = w1.owned()[0]?.slot ?? "";
    const lost = new Promise<string>((resolve) => w1.once("lost", (_slot, reason) => resolve(reason)));
    await w1.reportHealth(stuck, {
      state: "replacing",
      pending: 0,
      drains: 1,
      replacementFailures: 5,
      cannotReplace: true,
      connections: [],
    });
    await waitFor(() => w2.owned().length === 2, { timeoutMs: 5_000, description: "slot moved to w2" });
    expect(await lost).toBe("reassigned");
    expect(w1.owned()).toEqual([]);
    // The healthy slot of w2 was not moved to the failing w1 to rebalance.
    const status = (await c.status()) as { slots: { slot: string; assignedTo: string }[] };
    expect(status.slots.map((s) => s.assignedTo)).toEqual(["w2", "w2"]);
  });

  it("a dead worker's slots are owned by a live worker within the lock TTL plus a few seconds", async () => {
    const prefix = `dead-${Date.now().toString(36)}:`;
    await writeSenders([{ senderId: "400", apiKey: API_KEY, connections: 4 }]);
    const c = await replica("solo2", prefix);
    await waitFor(() => c.leader.isLeader(), { timeoutMs: 5_000, description: "leader" });
    const keys = createKeySchema(prefix);
    const start = async (id: string) => {
      const nodes = new RedisNodes({ urls: infra.redis.map((r) => r.url), commandTimeoutMs: 300 });
      closers.push(() => nodes.close());
      const hb = await new WorkerRegistry({ nodes, keys, ttlMs: 1_500 }).register({
        workerId: id,
        capacity: 4,
        host: "h",
        statusUrl: "http://h/status",
      });
      closers.push(() => hb.close());
      const w = new SlotOwnershipClient({
        nodes,
        keys,
        workerId: id,
        assignments: new AssignmentStore({ nodes, keys }),
        leaseTtlMs: 1_500,
        acquireRetryMs: 100,
      });
      closers.push(() => w.close());
      w.start();
      return { nodes, w };
    };
    const dying = await start("w-dying");
    const survivor = await start("w-survivor");
    await waitFor(() => dying.w.owned().length === 2 && survivor.w.owned().length === 2, {
      timeoutMs: 5_000,
      description: "two slots each",
    });
    // Crash: no release, no deregistration; heartbeats and renewals stop reaching Redis.
    for (const client of dying.nodes.clients) client.disconnect();
    const crashedAt = Date.now();
    await waitFor(() => survivor.w.owned().length === 4, {
      timeoutMs: 10_000,
      description: "survivor owns all",
    });
    // Worker TTL (1.5 s) to notice + lock TTL (1.5 s) at most, plus scheduling slack.
    expect(Date.now() - crashedAt).toBeLessThan(1_500 + 1_500 + 2_000);
  });

  it("writes the assignment again, slots where they were, when Redis lost every key", async () => {
    const prefix = `lost-${Date.now().toString(36)}:`;
    await writeSenders([{ senderId: "500", apiKey: API_KEY, connections: 2 }]);
    const c = await replica("solo3", prefix);
    await waitFor(() => c.leader.isLeader(), { timeoutMs: 5_000, description: "leader" });
    const nodes = new RedisNodes({ urls: infra.redis.map((r) => r.url), commandTimeoutMs: 300 });
    closers.push(() => nodes.close());
    const keys = createKeySchema(prefix);
    const store = new AssignmentStore({ nodes, keys });
    const hb = await new WorkerRegistry({ nodes, keys, ttlMs: 1_500 }).register({
      workerId: "w-lost",
      capacity: 4,
      host: "h",
      statusUrl: "http://h/status",
    });
    closers.push(() => hb.close());
    const before = await waitFor(
      async () => {
        const a = await store.read();
        return a !== undefined && Object.keys(a.slots).length === 2 ? a : undefined;
      },
      { timeoutMs: 5_000, description: "the first assignment" },
    );
    // Every Redis node restarts empty (no persistence): the prefix's keys vanish, the leader's lock, the
    // fencing counter and the assignment with them. The leader's renewal takes its lock back (or another
    // election gives a greater token); either way the lost assignment must be written again. The worker's
    // registration is kept: its heartbeat re-registers it before the leader's next round (as it did in
    // the cluster fault test), so the leader sees the same workers and would compute the same slots.
    for (const client of nodes.clients) {
      const found = (await client.keys(`${prefix}*`)).filter((k) => !k.startsWith(`${prefix}worker`));
      if (found.length > 0) await client.del(...found);
    }
    const after = await waitFor(
      async () => {
        const a = await store.read();
        return a !== undefined && Object.keys(a.slots).length === 2 ? a : undefined;
      },
      { timeoutMs: 10_000, description: "the assignment written again after the data loss" },
    );
    expect(after.token).toBeGreaterThanOrEqual(before.token);
    expect(after.version).toBeGreaterThan(before.version);
    expect(after.slots).toEqual(before.slots);
  });
});
