import { waitFor } from "@ccs/testkit";
import { describe, expect, it } from "vitest";
import {
  type Assignment,
  AssignmentStore,
  monotonicNow,
  type RedisNodes,
  type SlotLossReason,
  SlotOwnershipClient,
  SlotStatusStore,
  WorkerRegistry,
} from "../src/index.ts";
import { assignmentDoc, freshKeys, nextEvent, useRedisNodes } from "./support.ts";

const TTL = 1_500;

function doc(version: number, slots: Record<string, string>): Assignment {
  return assignmentDoc({ token: 1, version, slots });
}

describe("worker registry and slot ownership (three Redis nodes)", () => {
  const { open } = useRedisNodes(3);

  it("lists live workers; a closed or silent worker disappears", async () => {
    const keys = freshKeys();
    const registry = new WorkerRegistry({ nodes: open(), keys, ttlMs: 600 });
    const a = await registry.register({
      workerId: "a",
      capacity: 4,
      host: "h1",
      statusUrl: "http://h1/status",
    });
    await registry.heartbeat({ workerId: "b", capacity: 2, host: "h2", statusUrl: "http://h2/status" });
    expect((await registry.list()).map((w) => [w.workerId, w.capacity])).toEqual([
      ["a", 4],
      ["b", 2],
    ]);
    // b never heartbeats again: gone after its TTL; a keeps heartbeating.
    await waitFor(async () => (await registry.list()).every((w) => w.workerId !== "b"), {
      timeoutMs: 3_000,
      description: "b expired",
    });
    expect((await registry.list()).map((w) => w.workerId)).toEqual(["a"]);
    await a.close();
    expect(await registry.list()).toEqual([]);
  });

  it("moves a slot make-before-break, and takes over a crashed worker's slot within the TTL", async () => {
    const keys = freshKeys();
    const store = new AssignmentStore({ nodes: open(), keys });
    const events: string[] = [];
    const make = (workerId: string, nodes: RedisNodes): SlotOwnershipClient => {
      const client = new SlotOwnershipClient({
        nodes,
        keys,
        workerId,
        assignments: new AssignmentStore({ nodes, keys }),
        statusStore: new SlotStatusStore({ nodes, keys }),
        leaseTtlMs: TTL,
        acquireRetryMs: 100,
        prepare: async (slot) => {
          events.push(`${workerId} prepared ${slot}`);
        },
      });
      client.on("acquired", (slot, token) => events.push(`${workerId} acquired ${slot} ${token}`));
      client.on("lost", (slot, reason) => events.push(`${workerId} lost ${slot} ${reason}`));
      return client;
    };
    const nodesA = open();
    const a = make("a", nodesA);
    const b = make("b", open());
    a.start();
    b.start();
    await store.write(doc(1, { "1:0": "a", "1:1": "a" }));
    await waitFor(() => a.owned().length === 2, { timeoutMs: 5_000, description: "a owns both slots" });
    const tokenA = a.lease("1:0")?.token ?? -1;
    await a.reportHealth("1:0", {
      state: "online",
      pending: 3,
      drains: 0,
      replacementFailures: 0,
      cannotReplace: false,
      connections: [{ id: "c1", state: "online", pending: 3 }],
    });
    const status = await new SlotStatusStore({ nodes: open(), keys }).read(["1:0", "1:1"]);
    expect(status.get("1:0")).toMatchObject({ workerId: "a", fencingToken: tokenA, pending: 3 });

    // Move 1:0 to b: b prepares and claims first, then a lets go, then b acquires with a greater token.
    const acquiredB = nextEvent<[string, number]>(b, "acquired", 5_000);
    await store.write(doc(2, { "1:0": "b", "1:1": "a" }));
    const [slot, tokenB] = await acquiredB;
    expect(slot).toBe("1:0");
    expect(tokenB).toBeGreaterThan(tokenA);
    const order = events.filter(
      (e) => e.includes("1:0") && !e.startsWith("a prepared") && !e.startsWith("a acquired"),
    );
    expect(order).toEqual(["b prepared 1:0", "a lost 1:0 reassigned", `b acquired 1:0 ${tokenB}`]);
    expect(a.owned().map((o) => o.slot)).toEqual(["1:1"]);

    // a crashes (no release): its lock on 1:1 runs out and b takes the slot once reassigned.
    const lostByA = new Promise<SlotLossReason>((resolve) => a.on("lost", (_s, reason) => resolve(reason)));
    for (const c of nodesA.clients) c.disconnect();
    const crashedAt = monotonicNow();
    await store.write(doc(3, { "1:0": "b", "1:1": "b" }));
    await waitFor(() => b.owned().length === 2, { timeoutMs: TTL * 4, description: "b owns both slots" });
    expect(monotonicNow() - crashedAt).toBeLessThan(TTL + 2_000);
    expect(await lostByA).toBe("expired");
    await Promise.all([a.close(), b.close()]);
    expect(b.owned()).toEqual([]);
  });

  it("releases a slot removed from the assignment at once", async () => {
    const keys = freshKeys();
    const nodes = open();
    const store = new AssignmentStore({ nodes, keys });
    const client = new SlotOwnershipClient({
      nodes,
      keys,
      workerId: "w",
      leaseTtlMs: TTL,
      acquireRetryMs: 100,
    });
    client.start();
    client.apply(doc(1, { "1:0": "w" }));
    await nextEvent(client, "acquired", 5_000);
    const lost = nextEvent<[string, SlotLossReason]>(client, "lost", 2_000);
    client.apply(doc(2, {}));
    expect(await lost).toEqual(["1:0", "unassigned"]);
    await client.close();
    expect(await store.read()).toBeUndefined();
  });
});
