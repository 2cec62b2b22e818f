import { waitFor } from "@ccs/testkit";
import { describe, expect, it } from "vitest";
import {
  type Assignment,
  AssignmentStore,
  LeaderLease,
  monotonicNow,
  StaleFencingTokenError,
} from "../src/index.ts";
import { assignmentDoc, freshKeys, nextEvent, useRedisNodes } from "./support.ts";

const TTL = 1_500;

function doc(token: number, version: number, leaderId: string, slots: Record<string, string>): Assignment {
  return assignmentDoc({ token, version, leaderId, slots });
}

describe("leader election on three Redis nodes", () => {
  const { open } = useRedisNodes(3);

  it("one leader at a time; a stopped leader is replaced within the TTL and its stale write is rejected", async () => {
    const keys = freshKeys();
    const nodesA = open();
    const nodesB = open();
    const a = new LeaderLease({ nodes: nodesA, keys, candidateId: "a", ttlMs: TTL, retryIntervalMs: 100 });
    const b = new LeaderLease({ nodes: nodesB, keys, candidateId: "b", ttlMs: TTL, retryIntervalMs: 100 });
    const elected = Promise.race([
      nextEvent<[number]>(a, "elected", 5_000),
      nextEvent<[number]>(b, "elected", 5_000),
    ]);
    a.start();
    b.start();
    await elected;
    const [leader, follower, leaderNodes] = a.isLeader() ? [a, b, nodesA] : [b, a, nodesB];
    expect(follower.isLeader()).toBe(false);
    const oldToken = leader.token ?? -1;
    const storeOld = new AssignmentStore({ nodes: leaderNodes, keys });
    await storeOld.write(doc(oldToken, 1, leader.candidateId, { "1:0": "w1" }));

    // The leader stops renewing (its Redis connections go away, as in a partition or a hung process).
    for (const c of leaderNodes.clients) c.disconnect();
    const stoppedAt = monotonicNow();
    const [newToken] = await nextEvent<[number]>(follower, "elected", TTL * 3);
    const takeover = monotonicNow() - stoppedAt;
    expect(newToken).toBeGreaterThan(oldToken);
    expect(takeover).toBeLessThan(TTL + 1_000);
    // Never two valid leaders: the old one saw its lease end before the new one was elected.
    expect(leader.isLeader()).toBe(false);

    // The deposed leader (reconnected) tries to write with its old token: rejected by the majority.
    const staleNodes = open();
    const staleStore = new AssignmentStore({ nodes: staleNodes, keys });
    await expect(
      staleStore.write(doc(oldToken, 2, leader.candidateId, { "1:0": "w2" })),
    ).rejects.toBeInstanceOf(StaleFencingTokenError);
    const newStore = new AssignmentStore({ nodes: follower === a ? nodesA : nodesB, keys });
    await newStore.write(doc(newToken, 1, follower.candidateId, { "1:0": "w3" }));
    expect((await staleStore.read())?.slots["1:0"]).toBe("w3");
    await Promise.all([a.close(), b.close()]);
  });

  it("close() hands leadership over at once", async () => {
    const keys = freshKeys();
    const a = new LeaderLease({ nodes: open(), keys, candidateId: "a", ttlMs: TTL, retryIntervalMs: 100 });
    a.start();
    await nextEvent(a, "elected", 5_000);
    const b = new LeaderLease({ nodes: open(), keys, candidateId: "b", ttlMs: TTL, retryIntervalMs: 100 });
    b.start();
    const started = monotonicNow();
    await a.close();
    await nextEvent(b, "elected", TTL);
    expect(monotonicNow() - started).toBeLessThan(TTL / 2);
    await b.close();
    await b.close();
  });

  it("watchers see every newer assignment, never an older one", async () => {
    const keys = freshKeys();
    const nodes = open();
    const store = new AssignmentStore({ nodes, keys });
    const seen: number[] = [];
    const watch = store.watch((x) => seen.push(x.version), { pollIntervalMs: 200 });
    await store.write(doc(1, 1, "l", {}));
    await waitFor(() => seen.includes(1), { timeoutMs: 3_000, description: "version 1" });
    await store.write(doc(1, 2, "l", {}));
    await waitFor(() => seen.includes(2), { timeoutMs: 3_000, description: "version 2" });
    await expect(store.write(doc(1, 1, "l", {}))).rejects.toThrow();
    expect(seen).toEqual([1, 2]);
    await watch.close();
  });
});
