/**
 * End to end with real processes: nats-server, the CCS emulator (TLS XMPP) and worker processes
 * (`node services/worker/src/main.ts`), talking through the real connection layer.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type ProcessHandle, type ServerHandle, spawnProcess, waitFor } from "@ccs/testkit";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Outcome } from "../../src/pipeline/outcome.ts";
import { startTestNats, token } from "./support/harness.ts";

const ROOT = resolve(import.meta.dirname, "../../../..");
const SENDER = "123456789012";
const API_KEY = "demo-api-key-not-secret";

let nats: ServerHandle;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let tmp: string;
let prefixSeq = 0;

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connect({ servers: nats.url });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  tmp = mkdtempSync(join(tmpdir(), "worker-e2e-"));
});
afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
  if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
});

async function startEmulator(
  extra: string[] = [],
): Promise<{ handle: ProcessHandle; port: number; certPath: string }> {
  const certOut = join(tmp, `cert-${++prefixSeq}.pem`);
  const handle = await spawnProcess({
    command: process.execPath,
    args: [
      "services/ccs-emulator/src/cli.ts",
      "--port",
      "0",
      "--admin-port",
      "0",
      "--cert-out",
      certOut,
      "--sender",
      `${SENDER}:${API_KEY}`,
      "--log-level",
      "silent",
      ...extra,
    ],
    cwd: ROOT,
    readyLine: /"event":"ready"/,
    readyTimeoutMs: 30_000,
  });
  const ready = JSON.parse(await handle.waitForLine(/"event":"ready"/, 1000)) as {
    port: number;
    certPath: string;
  };
  return { handle, port: ready.port, certPath: ready.certPath };
}

function startWorker(
  prefix: string,
  emulator: { port: number; certPath: string },
  env: Record<string, string> = {},
) {
  return spawnProcess({
    command: process.execPath,
    args: ["services/worker/src/main.ts"],
    cwd: ROOT,
    env: {
      ...process.env,
      CCS_NATS_SERVERS: nats.url,
      CCS_SUBJECT_PREFIX: prefix,
      CCS_WORKER_CONFIG: "",
      CCS_HOST: "127.0.0.1",
      CCS_PORT: String(emulator.port),
      CCS_CA_FILE: emulator.certPath,
      CCS_SENDERS: JSON.stringify([{ senderId: SENDER, apiKeyEnv: "E2E_API_KEY", connections: 2 }]),
      E2E_API_KEY: API_KEY,
      CCS_STREAM_STORAGE: "memory",
      LOG_LEVEL: "info",
      ...env,
    },
    readyLine: /worker ready/,
    readyTimeoutMs: 30_000,
  });
}

/** Stream names derive from the prefix so tests do not share streams. */
function streamEnv(prefix: string): Record<string, string> {
  return { CCS_WORKER_CONFIG: writeConfig(prefix) };
}

function writeConfig(prefix: string): string {
  const path = join(tmp, `${prefix}.json`);
  const cfg = {
    streams: {
      down: { name: `${prefix}_DOWN` },
      outcomes: { name: `${prefix}_OUT` },
      upstream: { name: `${prefix}_UP` },
    },
  };
  writeFileSync(path, JSON.stringify(cfg));
  return path;
}

async function publishMany(prefix: string, count: number, idPrefix: string): Promise<void> {
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${idPrefix}-${i}`;
    inflight.push(
      js.publish(
        `${prefix}.down.${SENDER}`,
        JSON.stringify({ to: token(i), message_id: id, data: { i: String(i) } }),
        {
          msgID: id,
        },
      ),
    );
  }
  await Promise.all(inflight);
}

async function storedOutcomes(stream: string): Promise<Outcome[]> {
  const info = await jsm.streams.info(stream);
  const out: Outcome[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq });
    if (m !== null) out.push(m.json<Outcome>());
  }
  return out;
}

describe("worker process end to end (emulator + NATS)", () => {
  it("turns published requests into outcomes and exits 0 on SIGTERM", async () => {
    const prefix = `e2e${process.pid}a`;
    const emulator = await startEmulator();
    const worker = await startWorker(prefix, emulator, streamEnv(prefix));
    try {
      await publishMany(prefix, 300, "a");
      await js.publish(`${prefix}.down.${SENDER}`, "{broken", { msgID: "poison-1" });
      await waitFor(async () => (await jsm.streams.info(`${prefix}_OUT`)).state.messages >= 301, {
        timeoutMs: 30_000,
        description: "301 outcomes stored",
      });
      const outcomes = await storedOutcomes(`${prefix}_OUT`);
      expect(outcomes).toHaveLength(301);
      expect(new Set(outcomes.map((o) => o.message_id)).size).toBe(301);
      expect(outcomes.filter((o) => o.status === "acked")).toHaveLength(300);
      expect(outcomes.find((o) => o.message_id === "poison-1")).toMatchObject({ status: "rejected" });
      expect((await jsm.streams.info(`${prefix}_DOWN`)).state.messages).toBe(0);
      // Logs never carry the API key.
      expect(worker.lines.join("\n")).not.toContain(API_KEY);
      const exit = await worker.stop(20_000);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(worker.lines.some((l) => l.includes("worker stopped"))).toBe(true);
    } finally {
      await worker.kill().catch(() => undefined);
      await emulator.handle.stop();
    }
  });

  it("loses nothing when a worker is SIGKILLed: another worker finishes, one stored outcome per message", async () => {
    const prefix = `e2e${process.pid}b`;
    // Slow answers so that messages are in flight when the worker dies.
    const emulator = await startEmulator(["--ack-latency", "fixed:200"]);
    const env = { ...streamEnv(prefix), CCS_ACK_WAIT_MS: "3000" };
    const first = await startWorker(prefix, emulator, env);
    let second: ProcessHandle | undefined;
    try {
      await publishMany(prefix, 1000, "k");
      await waitFor(async () => (await jsm.streams.info(`${prefix}_OUT`)).state.messages >= 100, {
        timeoutMs: 30_000,
        description: "some outcomes before the kill",
      });
      await first.kill("SIGKILL");
      second = await startWorker(prefix, emulator, env);
      await waitFor(async () => (await jsm.streams.info(`${prefix}_DOWN`)).state.messages === 0, {
        timeoutMs: 60_000,
        description: "down stream drained by the second worker",
      });
      const outcomes = await storedOutcomes(`${prefix}_OUT`);
      const ids = new Set(outcomes.map((o) => o.message_id));
      expect(ids.size).toBe(1000);
      // De-duplicated by Nats-Msg-Id: the stream holds exactly one outcome per message.
      expect(outcomes).toHaveLength(1000);
      expect(outcomes.every((o) => o.status === "acked")).toBe(true);
      expect(outcomes.some((o) => o.deliveries > 1)).toBe(true);
    } finally {
      await second?.stop(20_000);
      await first.kill().catch(() => undefined);
      await emulator.handle.stop();
    }
  }, 120_000);
});
