import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestClient } from "./tls-client.ts";

const CLI = fileURLToPath(new URL("../../src/cli.ts", import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "ccs-emulator-cli-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Run {
  lines: string[];
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  child: ReturnType<typeof spawn>;
}

function run(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const r: Run = {
    lines: [],
    stderr: "",
    child,
    exited: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
  };
  let partial = "";
  child.stdout?.on("data", (d: Buffer) => {
    const parts = (partial + d.toString()).split("\n");
    partial = parts.pop() ?? "";
    r.lines.push(...parts);
  });
  child.stderr?.on("data", (d: Buffer) => {
    r.stderr += d.toString();
  });
  return r;
}

async function readyLine(r: Run, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  while (r.lines.length === 0) {
    if (r.child.exitCode !== null) throw new Error(`exited early: ${r.stderr}`);
    if (Date.now() > deadline) throw new Error(`no ready line; stderr: ${r.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return JSON.parse(r.lines[0] ?? "") as Record<string, unknown>;
}

describe("ccs-emulator CLI", () => {
  it("prints one JSON ready line, serves XMPP and admin, and stops on SIGINT with exit 0", async () => {
    const certOut = join(dir, "ca.pem");
    const r = run(["--port", "0", "--admin-port", "0", "--cert-out", certOut, "--seed", "5"], {
      CCS_EMULATOR_SENDERS: "424242:cli-key",
      CCS_EMULATOR_LOG_LEVEL: "silent",
    });
    try {
      const ready = await readyLine(r);
      expect(ready).toMatchObject({
        event: "ready",
        host: "127.0.0.1",
        certPath: certOut,
        senders: ["424242"],
        seed: 5,
      });
      expect(ready.port).toBeGreaterThan(0);
      const ca = await readFile(certOut, "utf8");
      expect(ca).toContain("BEGIN CERTIFICATE");
      expect(r.lines.join("\n")).not.toContain("cli-key");

      const c = await TestClient.connect(Number(ready.port), ca);
      await c.login("424242", "cli-key");
      const id = c.sendDownstream({ to: "clidevice:APA91bCli" });
      expect((await c.answer(id)).message_type).toBe("ack");
      c.close();

      const health = await fetch(`http://127.0.0.1:${String(ready.adminPort)}/health`);
      expect(await health.json()).toEqual({ status: "ok" });
    } finally {
      r.child.kill("SIGINT");
    }
    expect(await r.exited).toEqual({ code: 0, signal: null });
  });

  it("exits 2 with a message on a bad flag", async () => {
    const r = run(["--port", "nope"]);
    expect((await r.exited).code).toBe(2);
    expect(r.stderr).toContain("--port must be an integer");
  });

  it("exits 1 when the port is taken", async () => {
    const first = run([
      "--port",
      "0",
      "--admin-port",
      "0",
      "--cert-out",
      join(dir, "a.pem"),
      "--log-level",
      "silent",
    ]);
    try {
      const ready = await readyLine(first);
      const second = run([
        "--port",
        String(ready.port),
        "--admin-port",
        "0",
        "--cert-out",
        join(dir, "b.pem"),
      ]);
      expect((await second.exited).code).toBe(1);
      expect(second.stderr).toContain("failed to start");
    } finally {
      first.child.kill("SIGTERM");
      await first.exited;
    }
  });
});
