// `npm start` end to end: scripts/local-cluster.ts starts NATS, Redis, the emulator, two coordinators
// and two workers on free ports; messages sent with scripts/ccs-send.ts come back as `acked` outcomes
// carrying a slot and fencing token; SIGINT stops everything (exit 0, no process left behind).
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type ProcessHandle, spawnProcess, waitFor } from "@ccs/testkit";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const SENDER = "123456789012";
const READY = /"event":"ready"/;

interface Summary {
  readonly nats: string;
  readonly redis: string;
  readonly ccsEmulator: { readonly certPath: string | null };
  readonly coordinators: readonly { readonly id: string; readonly pid: number; readonly statusUrl: string }[];
  readonly workers: readonly { readonly id: string; readonly pid: number; readonly statusUrl: string }[];
  readonly slotsOwned: number;
}

interface OutcomeBody {
  readonly message_id: string;
  readonly status: string;
  readonly worker_id: string;
  readonly slot?: string;
  readonly fencing_token?: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line mentions `dir` (nats-server and redis-server keep their data there). */
function processesUsing(dir: string): string[] {
  const out = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  return out.split("\n").filter((line) => line.includes(dir) && !line.includes("ps -eo"));
}

describe("local cluster (npm start)", () => {
  let dir: string;
  let cluster: ProcessHandle;
  let summary: Summary;
  let nc: NatsConnection | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ccs-local-cluster-"));
    cluster = await spawnProcess({
      command: process.execPath,
      args: [join(ROOT, "scripts/local-cluster.ts")],
      cwd: ROOT,
      env: {
        ...process.env,
        CCS_LOCAL_DIR: dir,
        CCS_LOCAL_NATS_PORT: "0",
        CCS_LOCAL_REDIS_PORT: "0",
        CCS_LOCAL_EMULATOR_PORT: "0",
        CCS_LOCAL_EMULATOR_ADMIN_PORT: "0",
        CCS_LOCAL_COORDINATOR_PORTS: "0,0",
        CCS_LOCAL_WORKER_PORTS: "0,0",
      },
      readyLine: READY,
      readyTimeoutMs: 110_000,
    });
    summary = JSON.parse(await cluster.waitForLine(READY, 1_000)) as Summary;
  });

  afterAll(async () => {
    await nc?.close();
    if (cluster?.exitStatus === undefined) await cluster?.stop(30_000);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("prints where everything is, including the emulator's CA", () => {
    expect(summary.nats).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
    expect(summary.redis).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(summary.ccsEmulator.certPath).toBe(join(dir, "ccs-emulator-cert.pem"));
    expect(summary.coordinators.map((c) => c.id)).toEqual(["coordinator-1", "coordinator-2"]);
    expect(summary.workers.map((w) => w.id)).toEqual(["worker-1", "worker-2"]);
    expect(summary.slotsOwned).toBe(4);
    const text = cluster.lines.join("\n");
    expect(text).not.toContain("CA undefined");
    expect(text).toContain("npm run send -- --to");
    expect(text).toContain("npm run watch");
  });

  it("serves worker status with owned slots and fencing tokens, and no API key", async () => {
    const bodies = await Promise.all(summary.workers.map(async (w) => (await fetch(w.statusUrl)).text()));
    const slots = bodies.flatMap(
      (b) => (JSON.parse(b) as { slots: { slot: string; fencingToken: number }[] }).slots,
    );
    expect(slots.map((s) => s.slot).sort()).toEqual([0, 1, 2, 3].map((i) => `${SENDER}:${i}`));
    for (const s of slots) expect(s.fencingToken).toBeGreaterThan(0);
    for (const b of bodies) expect(b).not.toContain("demo-api-key-not-secret");
    for (const w of summary.workers) {
      expect((await fetch(w.statusUrl.replace(/\/status$/, "/readyz"))).status).toBe(200);
    }
  });

  it("turns messages sent with ccs-send into acked outcomes carrying slot and fencing token", async () => {
    const conn = await connect({ servers: summary.nats });
    nc = conn;
    const outcomes = new Map<string, OutcomeBody>();
    const headers = new Map<string, { token: string | undefined; slot: string | undefined }>();
    conn.subscribe(`ccs.out.${SENDER}`, {
      callback: (err, msg) => {
        if (err !== null) return;
        const o = msg.json<OutcomeBody>();
        outcomes.set(o.message_id, o);
        headers.set(o.message_id, {
          token: msg.headers?.get("Ccs-Fencing-Token"),
          slot: msg.headers?.get("Ccs-Slot"),
        });
      },
    });
    await conn.flush();

    const send = await spawnProcess({
      command: process.execPath,
      args: [
        join(ROOT, "scripts/ccs-send.ts"),
        "--to",
        "demo-device-1:APA91bDemoToken1",
        "--data",
        "k=v",
        "--count",
        "5",
      ],
      cwd: ROOT,
      env: { ...process.env, CCS_NATS_SERVERS: summary.nats },
    });
    expect(await send.exited).toEqual({ code: 0, signal: null });
    const ids = send.lines
      .filter((l) => l.startsWith('{"published"'))
      .map((l) => (JSON.parse(l) as { published: string }).published);
    expect(ids).toHaveLength(5);

    await waitFor(() => ids.every((id) => outcomes.has(id)), {
      timeoutMs: 30_000,
      description: "an outcome for each sent message",
    });
    for (const id of ids) {
      const o = outcomes.get(id);
      expect(o?.status).toBe("acked");
      expect(["worker-1", "worker-2"]).toContain(o?.worker_id);
      expect(o?.slot).toMatch(new RegExp(`^${SENDER}:[0-3]$`));
      expect(o?.fencing_token).toBeGreaterThan(0);
      expect(headers.get(id)).toEqual({ token: String(o?.fencing_token), slot: o?.slot });
    }
  });

  it("stops everything on SIGINT: exit 0 and no process left behind", async () => {
    const pids = [...summary.coordinators, ...summary.workers].map((p) => p.pid);
    cluster.signal("SIGINT");
    const status = await Promise.race([
      cluster.exited,
      new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 90_000).unref()),
    ]);
    expect(status).toEqual({ code: 0, signal: null });
    expect(cluster.lines.join("\n")).toMatch(
      /stopped worker-2[\s\S]*stopped worker-1[\s\S]*stopped nats-server/,
    );
    expect(pids.filter(alive)).toEqual([]);
    expect(processesUsing(dir)).toEqual([]);
  });
});
