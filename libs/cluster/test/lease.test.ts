import { type ServerHandle, waitFor } from "@ccs/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  acquireSlotLease,
  issueFencingToken,
  type Lease,
  LockBusyError,
  monotonicNow,
  QuorumError,
  type RedisNodes,
} from "../src/index.ts";
import { freshKeys, nextEvent, nodesFor, startRedisNodes } from "./support.ts";

const TTL = 1_500;

describe("slot lease on one Redis node", () => {
  let servers: ServerHandle[];
  let nodes: RedisNodes;
  let other: RedisNodes;

  beforeAll(async () => {
    servers = await startRedisNodes(1);
    nodes = nodesFor(servers);
    other = nodesFor(servers);
  });
  afterAll(async () => {
    await Promise.allSettled([nodes?.close(), other?.close()]);
    await Promise.allSettled((servers ?? []).map((s) => s.dispose()));
  });

  it("excludes a second owner, renews past the TTL, and hands over with a greater token", async () => {
    const keys = freshKeys();
    const a = await acquireSlotLease({ nodes, keys, slot: "1:0", ttlMs: TTL });
    await expect(acquireSlotLease({ nodes: other, keys, slot: "1:0", ttlMs: TTL })).rejects.toBeInstanceOf(
      LockBusyError,
    );
    // Renewal keeps it alive well past one TTL.
    const until = monotonicNow() + TTL * 2;
    while (monotonicNow() < until) {
      await nextEvent(a, "renewed", TTL);
    }
    expect(a.isValid()).toBe(true);
    await expect(acquireSlotLease({ nodes: other, keys, slot: "1:0", ttlMs: TTL })).rejects.toBeInstanceOf(
      LockBusyError,
    );
    await a.release();
    expect(a.isValid()).toBe(false);
    const b = await acquireSlotLease({ nodes: other, keys, slot: "1:0", ttlMs: TTL });
    expect(b.token).toBeGreaterThan(a.token);
    await b.release();
  });

  it("fencing tokens strictly increase across many owners", async () => {
    const keys = freshKeys();
    const tokens: number[] = [];
    for (let i = 0; i < 10; i++) {
      const lease: Lease = await acquireSlotLease({
        nodes: i % 2 === 0 ? nodes : other,
        keys,
        slot: "2:0",
        ttlMs: TTL,
      });
      tokens.push(lease.token);
      await lease.release();
    }
    for (let i = 1; i < tokens.length; i++) {
      expect(tokens[i]).toBeGreaterThan(tokens[i - 1] ?? Number.POSITIVE_INFINITY);
    }
  });

  it("an owner whose Redis is frozen (SIGSTOP) sees its lease invalid before the TTL runs out", async () => {
    const keys = freshKeys();
    const acquiredAt = monotonicNow();
    const lease = await acquireSlotLease({ nodes, keys, slot: "3:0", ttlMs: TTL });
    expect(lease.validUntil).toBeLessThanOrEqual(acquiredAt + TTL);
    const server = servers[0];
    if (server === undefined) throw new Error("no server");
    await server.pause();
    try {
      const [reason] = await nextEvent<[string]>(lease, "lost", TTL * 2);
      expect(reason).toBe("expired");
      expect(lease.isValid()).toBe(false);
      // Lost no later than the last successful renewal + TTL (the key's own expiry on the node).
      expect(monotonicNow()).toBeLessThan(lease.validUntil + 200);
    } finally {
      await server.resume();
    }
    await lease.release();
  });
});

describe("slot lease on three Redis nodes", () => {
  let servers: ServerHandle[];
  let nodes: RedisNodes;
  let other: RedisNodes;

  beforeAll(async () => {
    servers = await startRedisNodes(3);
    // A wider command deadline than the default test one: the suites share 2 cores with child processes.
    nodes = nodesFor(servers, 800);
    other = nodesFor(servers, 800);
  });
  afterAll(async () => {
    await Promise.allSettled([nodes?.close(), other?.close()]);
    await Promise.allSettled((servers ?? []).map((s) => s.dispose()));
  });

  it("keeps acquiring and renewing with one node killed, loses the lease in time with two down", async () => {
    const keys = freshKeys();
    const [s0, s1, s2] = servers;
    if (s0 === undefined || s1 === undefined || s2 === undefined) throw new Error("servers");
    await s0.kill();
    const a = await acquireSlotLease({ nodes, keys, slot: "4:0", ttlMs: TTL });
    await expect(acquireSlotLease({ nodes: other, keys, slot: "4:0", ttlMs: TTL })).rejects.toBeInstanceOf(
      LockBusyError,
    );
    await nextEvent(a, "renewed", TTL);
    await nextEvent(a, "renewed", TTL);
    expect(a.isValid()).toBe(true);
    await s1.pause();
    try {
      const [reason] = await nextEvent<[string]>(a, "lost", TTL * 2);
      expect(reason).toBe("expired");
      await expect(acquireSlotLease({ nodes: other, keys, slot: "4:1", ttlMs: TTL })).rejects.toBeInstanceOf(
        QuorumError,
      );
    } finally {
      await s1.resume();
      await s0.start();
    }
    await a.release();
    // Back to three nodes: a fresh owner gets a greater token.
    const b = await acquireSlotLease({ nodes: other, keys, slot: "4:0", ttlMs: TTL });
    expect(b.token).toBeGreaterThan(a.token);
    await b.release();
  });

  it("tokens stay strictly increasing when every issue reaches a different majority", async () => {
    const keys = freshKeys();
    const fence = keys.slotFence("5:0");
    const issued: number[] = [];
    // The node killed and restarted by the previous test must be reconnected (client backoff) first.
    await waitFor(() => nodes.clients.every((c) => c.status === "ready"), {
      timeoutMs: 5_000,
      description: "clients ready",
    });
    // Rotate which node is down: each token is written to a different pair of nodes.
    for (let round = 0; round < 6; round++) {
      const down = servers[round % 3];
      if (down === undefined) throw new Error("server");
      await down.pause();
      try {
        issued.push(await issueFencingToken(nodes, fence));
      } finally {
        await down.resume();
      }
    }
    for (let i = 1; i < issued.length; i++) {
      expect(issued[i]).toBeGreaterThan(issued[i - 1] ?? Number.POSITIVE_INFINITY);
    }
  });

  it("a lease held on a bare majority spreads to every node on renewal, and survives losing one of the two", async () => {
    const keys = freshKeys();
    const [s0, s1, s2] = servers;
    if (s0 === undefined || s1 === undefined || s2 === undefined) throw new Error("servers");
    const lockKey = keys.slotLock("6:0");
    await waitFor(() => nodes.clients.every((c) => c.status === "ready"), {
      timeoutMs: 5_000,
      description: "clients ready",
    });
    const a = await acquireSlotLease({ nodes, keys, slot: "6:0", ttlMs: TTL });
    // s2 loses the lock (as a node restarted without persistence does): it is on s0 and s1 only.
    const third = nodes.clients[2];
    if (third === undefined) throw new Error("client");
    expect(await third.del(lockKey)).toBe(1);
    // A renewal (every TTL/3) takes the lock on s2 too: it now holds on every node.
    await waitFor(async () => (await third.get(lockKey)) !== null, {
      timeoutMs: TTL * 2,
      description: "the lock taken on s2 by a renewal",
    });
    await s0.kill();
    try {
      // Without s2's copy a renewal would reach only s1 (1 of 2 needed): the lease would expire.
      for (let i = 0; i < 4; i++) await nextEvent(a, "renewed", TTL);
      expect(a.state).toBe("held");
      expect(a.isValid()).toBe(true);
    } finally {
      await s0.start();
    }
    await a.release();
  });

  it("a token issued after every node lost the counter (restart without persistence) is still greater", async () => {
    const fence = `${freshKeys().prefix}fence:data-loss`;
    await waitFor(() => nodes.clients.every((c) => c.status === "ready"), {
      timeoutMs: 5_000,
      description: "clients ready (a node was restarted by an earlier test)",
    });
    // Clocks injected: two issues at t = 5 s, the counter lost, one issue 1 s later.
    const before = [
      await issueFencingToken(nodes, fence, () => 5_000),
      await issueFencingToken(nodes, fence, () => 5_000),
    ];
    expect(before).toEqual([5_000, 5_001]);
    for (const client of nodes.clients) await client.del(fence);
    const after = await issueFencingToken(nodes, fence, () => 6_000);
    expect(after).toBe(6_000);
    // Normal issues still count up by one, whatever the clock says.
    expect(await issueFencingToken(nodes, fence, () => 0)).toBe(after + 1);
  });
});
