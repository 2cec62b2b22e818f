import { describe, expect, test } from "vitest";
import {
  ProcessExitedError,
  ReadyTimeoutError,
  SpawnError,
  spawnProcess,
  WaitTimeoutError,
} from "../src/index.ts";
import { pidAlive } from "./helpers.ts";

const node = process.execPath;

describe("spawnProcess", () => {
  test("resolves after the ready line, captures output, and stop() ends it with SIGTERM", async () => {
    const script = `
      console.log("booting");
      console.error("warming up on stderr");
      console.log("READY on 1234");
      process.on("SIGTERM", () => { console.log("got SIGTERM"); process.exit(0); });
      setInterval(() => {}, 1000);
    `;
    const proc = await spawnProcess({
      command: node,
      args: ["-e", script],
      readyLine: /^READY on \d+$/,
      readyTimeoutMs: 10_000,
    });
    expect(pidAlive(proc.pid)).toBe(true);
    expect(proc.lines).toContain("booting");
    // stdout and stderr are separate pipes: stderr may arrive after the ready line.
    await expect(proc.waitForLine(/^warming up on stderr$/, 5_000)).resolves.toBe("warming up on stderr");
    expect(proc.exitStatus).toBeUndefined();
    const status = await proc.stop(5_000);
    expect(status).toEqual({ code: 0, signal: null });
    expect(proc.lines).toContain("got SIGTERM");
    expect(pidAlive(proc.pid)).toBe(false);
    // Idempotent.
    await expect(proc.stop()).resolves.toEqual(status);
  });

  test("stop() escalates to SIGKILL when SIGTERM is ignored", async () => {
    const script = `process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000);`;
    const proc = await spawnProcess({ command: node, args: ["-e", script], readyLine: (l) => l === "up" });
    const status = await proc.stop(200);
    expect(status.signal).toBe("SIGKILL");
  });

  test("waitForLine sees later output and the bounded buffer keeps only recent lines", async () => {
    const script = `for (let i = 0; i < 50; i++) console.log("line " + i); setTimeout(() => console.log("late"), 50); setTimeout(() => {}, 5000);`;
    const proc = await spawnProcess({ command: node, args: ["-e", script], maxLines: 10 });
    try {
      await expect(proc.waitForLine(/^late$/, 5_000)).resolves.toBe("late");
      expect(proc.lines.length).toBeLessThanOrEqual(10);
      expect(proc.lines).not.toContain("line 0");
      expect(proc.lines.at(-1)).toBe("late");
    } finally {
      await proc.kill();
    }
  });

  test("exit before the ready line rejects with ProcessExitedError carrying the output", async () => {
    const err = await spawnProcess({
      command: node,
      args: ["-e", `console.error("config broken"); process.exit(3);`],
      readyLine: /READY/,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessExitedError);
    const exited = err as ProcessExitedError;
    expect(exited.exitCode).toBe(3);
    expect(exited.output).toContain("config broken");
  });

  test("a ready line that never comes times out and the child is killed", async () => {
    const err = await spawnProcess({
      command: node,
      args: ["-e", `setInterval(() => {}, 1000);`],
      readyLine: /READY/,
      readyTimeoutMs: 300,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReadyTimeoutError);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    const timeout = err as ReadyTimeoutError;
    expect(timeout.pid).toBeGreaterThan(0);
    expect(pidAlive(timeout.pid)).toBe(false);
    expect(timeout.message).toContain("/READY/");
  });

  test("a command that does not exist rejects with SpawnError", async () => {
    await expect(spawnProcess({ command: "/nonexistent/ccs-no-such-binary" })).rejects.toBeInstanceOf(
      SpawnError,
    );
  });
});
