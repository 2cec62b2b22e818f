import { fileURLToPath } from "node:url";
import {
  freePort,
  type Infrastructure,
  type ProcessHandle,
  spawnProcess,
  startInfrastructure,
  waitFor,
} from "@ccs/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const MAIN = fileURLToPath(new URL("../src/main.ts", import.meta.url));
const LEADER_TTL_MS = 2_000;

interface StatusDoc {
  readonly role: string;
  readonly coordinatorId: string;
}

async function role(port: number): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/status`).catch(() => undefined);
  if (res === undefined || res.status !== 200) return undefined;
  return ((await res.json()) as StatusDoc).role;
}

describe("coordinator processes", () => {
  let infra: Infrastructure;
  const procs: ProcessHandle[] = [];

  beforeAll(async () => {
    infra = await startInfrastructure({ redisNodes: 3, mode: "local" });
  });
  afterAll(async () => {
    await Promise.allSettled(procs.map((p) => p.kill()));
    await infra?.dispose();
  });

  async function spawnCoordinator(id: string, port: number): Promise<ProcessHandle> {
    const p = await spawnProcess({
      command: process.execPath,
      args: [MAIN],
      env: {
        ...process.env,
        LOG_LEVEL: "info",
        CCS_COORDINATOR_ID: id,
        CCS_NATS_SERVERS: infra.nats.url,
        CCS_REDIS_URLS: infra.redis.map((r) => r.url).join(","),
        CCS_REDIS_KEY_PREFIX: "proc:",
        CCS_REDIS_COMMAND_TIMEOUT_MS: "300",
        CCS_SUBJECT_PREFIX: "ptest",
        CCS_SENDERS: JSON.stringify([{ senderId: "1", apiKey: "AIza-process-test-key", connections: 2 }]),
        CCS_LEADER_TTL_MS: String(LEADER_TTL_MS),
        CCS_ASSIGN_INTERVAL_MS: "200",
        CCS_HTTP_HOST: "127.0.0.1",
        CCS_HTTP_PORT: String(port),
      },
      readyLine: /coordinator running/,
      readyTimeoutMs: 20_000,
    });
    procs.push(p);
    return p;
  }

  it("SIGKILL of the leader: the other process leads within the lease TTL; SIGTERM exits 0", async () => {
    const [portA, portB] = await Promise.all([freePort(), freePort()]);
    const a = await spawnCoordinator("pa", portA);
    const b = await spawnCoordinator("pb", portB);
    const leaderPort = await waitFor(
      async () =>
        (await role(portA)) === "leader" ? portA : (await role(portB)) === "leader" ? portB : undefined,
      { timeoutMs: 10_000, description: "one leader" },
    );
    const [leaderProc, followerPort, followerProc] = leaderPort === portA ? [a, portB, b] : [b, portA, a];
    expect(await role(followerPort)).toBe("follower");
    const killedAt = Date.now();
    await leaderProc.kill("SIGKILL");
    await waitFor(async () => (await role(followerPort)) === "leader", {
      timeoutMs: LEADER_TTL_MS * 3,
      description: "takeover",
    });
    expect(Date.now() - killedAt).toBeLessThan(LEADER_TTL_MS + 1_500);
    expect(followerProc.lines.join("\n")).not.toContain("AIza-process-test-key");
    followerProc.signal("SIGTERM");
    const exit = await followerProc.exited;
    expect(exit.code).toBe(0);
  });
});
