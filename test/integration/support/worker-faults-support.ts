// Helpers for the worker's NACK-policy and fault tests (worker-nack-policies / worker-faults): a
// static-mode cluster without Redis, a worker with a JSON config file (short retry bases), raw
// publishes, the full outcome record and a few emulator admin calls the shared EmulatorAdmin lacks.
// Built on the shared harness (cluster.ts, traffic.ts, scenario.ts), which is not modified here.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitFor } from "@ccs/testkit";
import type { JetStreamClient } from "@nats-io/jetstream";
import { DEMO_API_KEY, DEMO_SENDER_ID, type ServiceProcess } from "./cluster.ts";
import type { EmulatorAdmin, StatsView } from "./emulator-admin.ts";
import { type Scenario, startScenario } from "./scenario.ts";
import type { Outcome, OutcomeCollector } from "./traffic.ts";

/** The outcome body as services/worker/README.md "Outcomes" documents it. */
export interface FullOutcome extends Outcome {
  readonly description?: string;
  readonly rejected_by?: "worker" | "ccs";
  readonly stanza_error?: { code: string; type: string; condition: string; text?: string };
  readonly canonical_registration_id?: string;
  readonly token_action?: "remove" | "replace";
  readonly new_token?: string;
  readonly attempts: number;
  readonly retries: number;
  readonly deliveries: number;
  readonly published_at: string;
  readonly completed_at: string;
}

export interface BackoffInput {
  readonly baseMs?: number;
  readonly maxMs?: number;
  readonly maxRetries?: number;
}

/** The part of the worker's WorkerConfigInput (services/worker/src/config/worker-config.ts) used here. */
export interface WorkerFileConfig {
  readonly retry?: {
    readonly serviceUnavailable?: BackoffInput;
    readonly deviceRate?: BackoffInput;
    readonly internalError?: BackoffInput;
    readonly drainingMaxRetries?: number;
    readonly lostMaxRetries?: number;
    readonly jitter?: number;
  };
  readonly connection?: {
    readonly reconnectInitialMs?: number;
    readonly reconnectMaxMs?: number;
  };
}

/** A static-mode cluster (no Redis) with one sender of `connections` connections per worker. */
export async function startStaticScenario(
  name: string,
  options: { connections?: number; apiKey?: string; emulatorArgs?: readonly string[] } = {},
): Promise<Scenario> {
  return startScenario({
    name,
    redisNodes: 0,
    senders: [
      {
        senderId: DEMO_SENDER_ID,
        apiKey: options.apiKey ?? DEMO_API_KEY,
        connections: options.connections ?? 2,
      },
    ],
    ...(options.emulatorArgs === undefined ? {} : { emulatorArgs: options.emulatorArgs }),
  });
}

/**
 * Starts a static worker with a CCS_WORKER_CONFIG file (written into the cluster's temp dir) for what
 * has no environment variable (retry policies); `env` is added last (wins over the harness defaults).
 */
export async function startConfiguredWorker(
  s: Scenario,
  id: string,
  file: WorkerFileConfig,
  env: Readonly<Record<string, string>> = {},
): Promise<ServiceProcess> {
  const path = join(s.cluster.dir, `worker-${id}.config.json`);
  writeFileSync(path, JSON.stringify(file, null, 2));
  return s.cluster.startWorker(id, { env: { CCS_WORKER_CONFIG: path, ...env } });
}

/** Publishes one raw body (any bytes) to ccs.down.<sender> with msgID; waits for the JetStream ack. */
export async function publishRaw(
  js: JetStreamClient,
  senderId: string,
  body: string,
  msgID: string,
): Promise<number> {
  const ack = await js.publish(`ccs.down.${senderId}`, body, { msgID, timeout: 10_000 });
  if (ack.duplicate) throw new Error(`publish of ${msgID} was a duplicate`);
  return ack.seq;
}

/** Publishes one JSON request (message_id = msgID unless the body sets another). */
export async function publishJson(
  js: JetStreamClient,
  senderId: string,
  msgID: string,
  body: Record<string, unknown>,
): Promise<void> {
  await publishRaw(js, senderId, JSON.stringify({ message_id: msgID, ...body }), msgID);
}

/** The single outcome of `id` (throws when there is none or more than one). */
export function onlyOutcome(collector: OutcomeCollector, id: string): FullOutcome {
  const list = collector.outcomes.get(id) ?? [];
  if (list.length !== 1) throw new Error(`expected exactly one outcome for ${id}, got ${list.length}`);
  return list[0] as FullOutcome;
}

/** Every outcome of `ids` (first one each; exactly-once is asserted separately). */
export function outcomesOf(collector: OutcomeCollector, ids: readonly string[]): FullOutcome[] {
  return ids.map((id) => {
    const o = collector.outcomes.get(id)?.[0];
    if (o === undefined) throw new Error(`no outcome for ${id}`);
    return o as FullOutcome;
  });
}

export function sumNacked(stats: StatsView): number {
  return Object.values(stats.counters.nacked).reduce((n, v) => n + (v ?? 0), 0);
}

/** GET /status counters of a worker (e.g. `retries{service-unavailable}`). */
export async function workerCounters(worker: ServiceProcess): Promise<Record<string, number>> {
  const st = await worker.status<{ counters: Record<string, number> }>();
  if (st === undefined) throw new Error(`worker ${worker.id} did not answer /status`);
  return st.counters;
}

async function adminCall(
  admin: EmulatorAdmin,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const res = await fetch(`${admin.baseUrl}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok)
    throw new Error(`emulator admin ${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return text === "" ? undefined : JSON.parse(text);
}

/** POST /devices/:token/unregister. */
export async function unregisterDevice(admin: EmulatorAdmin, token: string): Promise<void> {
  await adminCall(admin, "POST", `/devices/${encodeURIComponent(token)}/unregister`);
}

/** POST /devices/:token/rotate {canonicalToken}. */
export async function rotateDevice(
  admin: EmulatorAdmin,
  token: string,
  canonicalToken: string,
): Promise<void> {
  await adminCall(admin, "POST", `/devices/${encodeURIComponent(token)}/rotate`, { canonicalToken });
}

/** GET /healthz of a worker: true when it answers 200. */
export async function workerHealthy(worker: ServiceProcess): Promise<boolean> {
  if (worker.httpPort === undefined) return false;
  try {
    const res = await fetch(`http://127.0.0.1:${worker.httpPort}/healthz`, {
      signal: AbortSignal.timeout(3_000),
    });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Samples the emulator's /stats every `intervalMs` until stopped, keeping the largest
 * `counters.pendingViolations` seen and every connection's largest `pending` (a window check that holds
 * throughout the test, not only at its end).
 */
export class StatsSampler {
  maxPendingViolations = 0;
  maxPending = 0;
  samples = 0;
  readonly #admin: EmulatorAdmin;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;

  constructor(admin: EmulatorAdmin, intervalMs = 200) {
    this.#admin = admin;
    this.#timer = setInterval(() => {
      if (this.#inFlight !== undefined) return;
      this.#inFlight = this.#sample().finally(() => {
        this.#inFlight = undefined;
      });
    }, intervalMs);
  }

  async #sample(): Promise<void> {
    try {
      const stats = await this.#admin.stats();
      this.samples++;
      this.maxPendingViolations = Math.max(this.maxPendingViolations, stats.counters.pendingViolations);
      for (const c of stats.connections) this.maxPending = Math.max(this.maxPending, c.pending);
    } catch {
      // the emulator may be gone at the end of a failed test
    }
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
    await this.#sample();
  }
}

/** Waits until `probe` holds, polling the emulator's /stats. */
export async function waitStats(
  admin: EmulatorAdmin,
  accept: (stats: StatsView) => boolean,
  timeoutMs: number,
  description: string,
): Promise<StatsView> {
  return waitFor(
    async () => {
      const stats = await admin.stats();
      return accept(stats) ? stats : undefined;
    },
    { timeoutMs, intervalMs: 100, description },
  );
}
