import { access, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, onTestFinished, test } from "vitest";
import { spawnProcess, waitFor } from "../src/index.ts";
import { pidAlive } from "./helpers.ts";

const script = fileURLToPath(new URL("./fixtures/hold-redis.ts", import.meta.url));

async function runHolder(mode: "exit" | "wait") {
  const holder = await spawnProcess({
    command: process.execPath,
    args: [script, mode],
    readyLine: /^REDIS_PID=\d+ DIR=/,
    readyTimeoutMs: 20_000,
  });
  const line = await holder.waitForLine(/^REDIS_PID=\d+ DIR=/, 1_000);
  const match = /^REDIS_PID=(\d+) DIR=(.+)$/.exec(line);
  const redisPid = Number(match?.[1]);
  const dataDir = match?.[2] ?? "";
  // If an assertion fails, do not leave the holder's Redis behind (a SIGKILLed holder cannot clean up).
  onTestFinished(async () => {
    holder.signal("SIGTERM");
    await holder.exited;
    if (pidAlive(redisPid)) {
      process.kill(redisPid, "SIGKILL");
    }
    await rm(dataDir, { recursive: true, force: true });
  });
  expect(holder.lines).toContain("DIR_EXISTS=true");
  return { holder, redisPid, dataDir };
}

describe("children never outlive the test process", () => {
  test("a process that exits without dispose takes its servers and temp dirs with it", async () => {
    const { holder, redisPid, dataDir } = await runHolder("exit");
    await holder.exited;
    await waitFor(() => !pidAlive(redisPid), { timeoutMs: 5_000, description: `redis pid ${redisPid} gone` });
    await expect(access(dataDir)).rejects.toMatchObject({ code: "ENOENT" });
  });

  test("SIGTERM kills the servers and still terminates the process (testcontainers' signal-exit loaded)", async () => {
    const { holder, redisPid, dataDir } = await runHolder("wait");
    expect(pidAlive(redisPid)).toBe(true);
    await access(dataDir);
    holder.signal("SIGTERM");
    const status = await Promise.race([
      holder.exited,
      waitFor<never>(() => false, { timeoutMs: 5_000, description: "holder to exit after SIGTERM" }),
    ]);
    expect(status.signal).toBe("SIGTERM");
    await waitFor(() => !pidAlive(redisPid), { timeoutMs: 5_000, description: `redis pid ${redisPid} gone` });
    await expect(access(dataDir)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
