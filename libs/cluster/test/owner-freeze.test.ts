import { fileURLToPath } from "node:url";
import { type ServerHandle, spawnProcess } from "@ccs/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { acquireSlotLease, LockBusyError, type RedisNodes } from "../src/index.ts";
import { freshKeys, nodesFor, startRedisNodes } from "./support.ts";

const TTL = 1_500;
const fixture = fileURLToPath(new URL("./fixtures/hold-lease.ts", import.meta.url));

describe("an owner frozen with SIGSTOP", () => {
  let servers: ServerHandle[];
  let nodes: RedisNodes;

  beforeAll(async () => {
    servers = await startRedisNodes(1);
    nodes = nodesFor(servers);
  });
  afterAll(async () => {
    await nodes?.close();
    await Promise.allSettled((servers ?? []).map((s) => s.dispose()));
  });

  it("sees its lease invalid on its first check after resuming, while another owner took over", async () => {
    const keys = freshKeys();
    const url = servers[0]?.url ?? "";
    const child = await spawnProcess({
      command: process.execPath,
      args: [fixture, url, keys.prefix, "9:0", String(TTL)],
      readyLine: /^acquired \d+$/,
    });
    try {
      const acquired = child.lines.find((l) => l.startsWith("acquired")) ?? "";
      const childToken = Number(acquired.split(" ")[1]);
      await expect(acquireSlotLease({ nodes, keys, slot: "9:0", ttlMs: TTL })).rejects.toBeInstanceOf(
        LockBusyError,
      );
      child.signal("SIGSTOP");
      // The child's lock expires on Redis while it is frozen; a new owner takes the slot.
      let taken: Awaited<ReturnType<typeof acquireSlotLease>> | undefined;
      const deadline = Date.now() + TTL * 3;
      while (taken === undefined && Date.now() < deadline) {
        taken = await acquireSlotLease({ nodes, keys, slot: "9:0", ttlMs: TTL }).catch(() => undefined);
        if (taken === undefined) await new Promise((r) => setTimeout(r, 50));
      }
      expect(taken?.token).toBeGreaterThan(childToken);
      child.signal("SIGCONT");
      await child.waitForLine(/^invalid$/, 2_000);
      expect(child.lines.filter((l) => !l.startsWith("acquired"))).toEqual(["invalid"]);
      await taken?.release();
    } finally {
      await child.kill();
    }
  });
});
