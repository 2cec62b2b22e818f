// A whole cluster made of real processes for the fault tests: NATS (JetStream) and 1 or 3 Redis nodes
// (@ccs/testkit), the CCS emulator, coordinators and workers as child processes configured as in
// test/integration/docs/CLUSTER-CONTRACT.md. `dispose()` kills everything and checks nothing is left.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  type Infrastructure,
  type ProcessHandle,
  spawnProcess,
  startInfrastructure,
  waitFor,
} from "@ccs/testkit";
import { EmulatorAdmin } from "./emulator-admin.ts";
import { type LogRecord, ProcessLog, parseJsonLine } from "./logs.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "../../..");
const EMULATOR_CLI = join(REPO_ROOT, "services/ccs-emulator/src/cli.ts");
const WORKER_MAIN = join(REPO_ROOT, "services/worker/src/main.ts");
const COORDINATOR_MAIN = join(REPO_ROOT, "services/coordinator/src/main.ts");

export const DEMO_SENDER_ID = "123456789012";
export const DEMO_API_KEY = "demo-api-key-not-secret";

/** Short timings so that failover happens within seconds. */
export const TIMINGS = {
  leaderTtlMs: 3_000,
  workerTtlMs: 3_000,
  slotLeaseTtlMs: 3_000,
  assignIntervalMs: 300,
  ackWaitMs: 5_000,
  answerTimeoutMs: 10_000,
  windowSize: 100,
} as const;

export interface SenderSpec {
  readonly senderId: string;
  readonly apiKey: string;
  readonly connections: number;
}

export interface ClusterOptions {
  /** Used for the temp/log directory name. */
  readonly name: string;
  readonly redisNodes?: number;
  readonly senders?: readonly SenderSpec[];
  /** Extra emulator CLI flags. */
  readonly emulatorArgs?: readonly string[];
}

export interface EmulatorProcess {
  readonly handle: ProcessHandle;
  readonly log: ProcessLog;
  readonly host: string;
  readonly port: number;
  readonly adminUrl: string;
  readonly certPath: string;
  readonly admin: EmulatorAdmin;
}

export interface ServiceProcess {
  readonly id: string;
  readonly kind: "worker" | "coordinator";
  readonly handle: ProcessHandle;
  readonly log: ProcessLog;
  /** From the ready line (undefined when the process does not serve HTTP). */
  readonly httpPort: number | undefined;
  /** GET /status as JSON (undefined when there is no HTTP port or the request fails). */
  status<T = Record<string, unknown>>(): Promise<T | undefined>;
  /** HTTP status of GET /readyz (undefined when there is no HTTP port or no answer). */
  readyz(): Promise<number | undefined>;
  readonly exited: boolean;
}

export interface CoordinatorSlotRow {
  readonly slot: string;
  readonly senderId: string;
  readonly index: number;
  readonly assignedTo: string | null;
  readonly owner: string | null;
  readonly fencingToken: number | string | null;
  readonly state: string;
  readonly pending: number;
  readonly reportedAgoMs: number | null;
}

export interface CoordinatorStatus {
  readonly coordinatorId: string;
  readonly role: "leader" | "follower";
  readonly leaderToken: number | string | null;
  readonly workers: readonly { workerId: string; assigned: number; heartbeatAgoMs: number }[];
  readonly assignment: { leaderId: string; fencingToken: number | string; version: number } | null;
  readonly slots: readonly CoordinatorSlotRow[];
  readonly unassignedSlots: readonly string[];
  readonly upstream: Record<string, unknown>;
}

/** The worker's GET /status (coordinated mode), as far as the tests read it. */
export interface WorkerStatus {
  readonly workerId: string;
  readonly mode: string;
  readonly registered: boolean | null;
  readonly slots: readonly {
    slot: string;
    senderId: string;
    slotIndex: number;
    fencingToken: number;
    leaseRemainingMs: number;
  }[];
  readonly connections: readonly {
    id: string;
    senderId: string;
    slotIndex: number;
    state: string;
    pending: number;
  }[];
  readonly counters: Record<string, number>;
}

export interface WorkerOptions {
  /** Coordinated mode (CCS_REDIS_URLS set). Default false: static mode. */
  readonly coordinated?: boolean;
  readonly capacity?: number;
  /** How the worker gets its senders: the shared senders file (default, as the coordinators) or CCS_SENDERS. */
  readonly sendersVia?: "file" | "env";
  readonly env?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
}

function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9_.-]/g, "_");
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  // Never leak test-runner variables that would change the services' behaviour.
  const base: NodeJS.ProcessEnv = {};
  for (const key of ["PATH", "HOME", "TMPDIR", "LANG", "TZ", "NODE_OPTIONS"]) {
    const v = process.env[key];
    if (v !== undefined) base[key] = v;
  }
  return { ...base, ...extra };
}

export class Cluster {
  readonly infra: Infrastructure;
  readonly emulator: EmulatorProcess;
  readonly dir: string;
  readonly logDir: string;
  readonly senders: readonly SenderSpec[];
  readonly sendersFile: string;
  readonly processes: ServiceProcess[] = [];
  readonly #redisPrefix = "it:";
  #disposed = false;

  private constructor(
    infra: Infrastructure,
    emulator: EmulatorProcess,
    dir: string,
    logDir: string,
    senders: readonly SenderSpec[],
    sendersFile: string,
  ) {
    this.infra = infra;
    this.emulator = emulator;
    this.dir = dir;
    this.logDir = logDir;
    this.senders = senders;
    this.sendersFile = sendersFile;
  }

  static async start(options: ClusterOptions): Promise<Cluster> {
    const dir = mkdtempSync(join(tmpdir(), `ccs-it-${sanitize(options.name)}-`));
    const logDir = join(dir, "logs");
    mkdirSync(logDir);
    const senders = options.senders ?? [{ senderId: DEMO_SENDER_ID, apiKey: DEMO_API_KEY, connections: 4 }];
    const sendersFile = join(dir, "senders.json");
    writeFileSync(sendersFile, JSON.stringify({ senders }, null, 2));
    let infra: Infrastructure | undefined;
    let emulator: EmulatorProcess | undefined;
    try {
      [infra, emulator] = await Promise.all([
        startInfrastructure({ redisNodes: options.redisNodes ?? 1, mode: "local" }),
        startEmulatorProcess(dir, logDir, senders, options.emulatorArgs ?? []),
      ]);
      return new Cluster(infra, emulator, dir, logDir, senders, sendersFile);
    } catch (err) {
      await emulator?.handle.kill().catch(() => undefined);
      await infra?.dispose().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  get natsUrl(): string {
    return this.infra.nats.url;
  }

  get redisUrls(): string {
    return this.infra.redis.map((r) => r.url).join(",");
  }

  /** Common environment of workers and coordinators. */
  #commonEnv(): Record<string, string> {
    return {
      LOG_LEVEL: "info",
      CCS_NATS_SERVERS: this.natsUrl,
      NATS_SERVERS: this.natsUrl, // the worker's old name (renamed to CCS_NATS_SERVERS); harmless
      CCS_REDIS_KEY_PREFIX: this.#redisPrefix,
      CCS_WORKER_TTL_MS: String(TIMINGS.workerTtlMs),
    };
  }

  async startWorker(id: string, options: WorkerOptions = {}): Promise<ServiceProcess> {
    const env: Record<string, string> = {
      ...this.#commonEnv(),
      CCS_WORKER_ID: id,
      ...(options.sendersVia === "env"
        ? { CCS_SENDERS: JSON.stringify(this.senders) }
        : { CCS_SENDERS_FILE: this.sendersFile }),
      CCS_HOST: this.emulator.host,
      CCS_PORT: String(this.emulator.port),
      CCS_CA_FILE: this.emulator.certPath,
      CCS_TLS_VERIFY: "true",
      CCS_SERVERNAME: "localhost",
      CCS_WINDOW_SIZE: String(TIMINGS.windowSize),
      CCS_ANSWER_TIMEOUT_MS: String(TIMINGS.answerTimeoutMs),
      CCS_ACK_WAIT_MS: String(TIMINGS.ackWaitMs),
      CCS_SHUTDOWN_GRACE_MS: "2000",
      CCS_SHUTDOWN_FORCE_MS: "6000",
      CCS_WORKER_HTTP_HOST: "127.0.0.1",
      CCS_WORKER_HTTP_PORT: "0",
      CCS_SLOT_LEASE_TTL_MS: String(TIMINGS.slotLeaseTtlMs),
      CCS_WORKER_CAPACITY: String(options.capacity ?? 16),
      ...(options.coordinated === true ? { CCS_REDIS_URLS: this.redisUrls } : {}),
      ...options.env,
    };
    return this.#spawnService("worker", id, WORKER_MAIN, env, /"msg":"worker ready"/, options.readyTimeoutMs);
  }

  async startCoordinator(id: string, extraEnv: Record<string, string> = {}): Promise<ServiceProcess> {
    const env: Record<string, string> = {
      ...this.#commonEnv(),
      CCS_COORDINATOR_ID: id,
      CCS_REDIS_URLS: this.redisUrls,
      CCS_REDIS_COMMAND_TIMEOUT_MS: "300",
      CCS_SENDERS_FILE: this.sendersFile,
      CCS_SENDERS_RELOAD_INTERVAL_MS: "1000",
      CCS_LEADER_TTL_MS: String(TIMINGS.leaderTtlMs),
      CCS_ASSIGN_INTERVAL_MS: String(TIMINGS.assignIntervalMs),
      CCS_UPSTREAM_ACK_WAIT_MS: "5000",
      CCS_HTTP_HOST: "127.0.0.1",
      CCS_HTTP_PORT: "0",
      CCS_SHUTDOWN_TIMEOUT_MS: "5000",
      ...extraEnv,
    };
    return this.#spawnService("coordinator", id, COORDINATOR_MAIN, env, /"msg":"coordinator running"/);
  }

  async #spawnService(
    kind: "worker" | "coordinator",
    id: string,
    main: string,
    env: Record<string, string>,
    readyLine: RegExp,
    readyTimeoutMs = 30_000,
  ): Promise<ServiceProcess> {
    if (this.#disposed) throw new Error("cluster disposed");
    const log = new ProcessLog(`${kind}:${id}`, join(this.logDir, `${kind}-${sanitize(id)}.log`));
    let handle: ProcessHandle;
    try {
      handle = await spawnProcess({
        command: process.execPath,
        args: [main],
        cwd: REPO_ROOT,
        env: childEnv(env),
        readyLine,
        readyTimeoutMs,
        maxLines: 500,
        onLine: log.onLine,
      });
    } catch (err) {
      throw new Error(`${kind} ${id} did not start: ${String(err)}\n${log.tail(30)}`, { cause: err });
    }
    const ready = await handle.waitForLine(readyLine, 1_000);
    const readyRec = parseJsonLine(ready);
    const port = readyRec?.httpPort;
    const httpPort = typeof port === "number" && port > 0 ? port : undefined;
    const get = (path: string): Promise<Response | undefined> =>
      httpPort === undefined
        ? Promise.resolve(undefined)
        : fetch(`http://127.0.0.1:${httpPort}${path}`, { signal: AbortSignal.timeout(3_000) }).catch(
            () => undefined,
          );
    const proc: ServiceProcess = {
      id,
      kind,
      handle,
      log,
      httpPort,
      get exited() {
        return handle.exitStatus !== undefined;
      },
      status: async <T>() => {
        const res = await get("/status");
        if (res === undefined || !res.ok) return undefined;
        return (await res.json().catch(() => undefined)) as T | undefined;
      },
      readyz: async () => {
        const res = await get("/readyz");
        await res?.body?.cancel();
        return res?.status;
      },
    };
    this.processes.push(proc);
    return proc;
  }

  coordinators(): ServiceProcess[] {
    return this.processes.filter((p) => p.kind === "coordinator" && !p.exited);
  }

  workers(): ServiceProcess[] {
    return this.processes.filter((p) => p.kind === "worker" && !p.exited);
  }

  /** /status of the first live coordinator that answers. */
  async coordinatorStatus(): Promise<CoordinatorStatus | undefined> {
    for (const c of this.coordinators()) {
      const s = await c.status<CoordinatorStatus>();
      if (s !== undefined) return s;
    }
    return undefined;
  }

  /** The live coordinator whose /status says `leader`. */
  async leader(): Promise<{ proc: ServiceProcess; status: CoordinatorStatus } | undefined> {
    for (const c of this.coordinators()) {
      const s = await c.status<CoordinatorStatus>();
      if (s?.role === "leader") return { proc: c, status: s };
    }
    return undefined;
  }

  /** Slot ids the worker's /status says it owns (undefined when it does not answer). */
  async workerSlots(worker: ServiceProcess): Promise<string[] | undefined> {
    const st = await worker.status<WorkerStatus>();
    return st?.slots.map((s) => s.slot).sort();
  }

  /** Slot → owner (coordinator /status). */
  async owners(): Promise<Map<string, string | null> | undefined> {
    const st = await this.coordinatorStatus();
    return st === undefined ? undefined : new Map(st.slots.map((r) => [r.slot, r.owner]));
  }

  /** Waits until every slot of every sender is owned (coordinator /status) and online, and returns owners. */
  async waitAllSlotsOwned(
    timeoutMs: number,
    accept: (rows: readonly CoordinatorSlotRow[]) => boolean = () => true,
    description = "every slot owned and online",
  ): Promise<readonly CoordinatorSlotRow[]> {
    const total = this.senders.reduce((n, s) => n + s.connections, 0);
    let last: readonly CoordinatorSlotRow[] | undefined;
    try {
      return await waitFor(
        async () => {
          const st = await this.coordinatorStatus();
          last = st?.slots;
          if (st === undefined || st.slots.length !== total) return undefined;
          const ok = st.slots.every(
            (r) =>
              r.owner !== null &&
              r.assignedTo === r.owner &&
              r.state === "online" &&
              r.reportedAgoMs !== null,
          );
          return ok && accept(st.slots) ? st.slots : undefined;
        },
        { timeoutMs, intervalMs: 200, description },
      );
    } catch (err) {
      throw new Error(`${description}: not within ${timeoutMs} ms; last slot rows ${JSON.stringify(last)}`, {
        cause: err,
      });
    }
  }

  /** Every process's last lines, for failure reports. */
  dumpLogs(lines = 30): string {
    const parts = [`logs in ${this.logDir}`];
    parts.push(`--- emulator ---\n${this.emulator.log.tail(lines)}`);
    for (const p of this.processes)
      parts.push(`--- ${p.kind} ${p.id} (pid ${p.handle.pid}) ---\n${p.log.tail(lines)}`);
    return parts.join("\n");
  }

  /** Kills every process and server; returns the pids that were still alive afterwards (should be none). */
  async dispose(options: { keepDir?: boolean } = {}): Promise<number[]> {
    if (this.#disposed) return [];
    this.#disposed = true;
    const handles = [...this.processes.map((p) => p.handle), this.emulator.handle];
    for (const h of handles) {
      if (h.exitStatus === undefined) {
        // A SIGSTOPped process must be continued to die quickly on some systems; SIGKILL works anyway.
        h.signal("SIGCONT");
      }
    }
    await Promise.allSettled(handles.map((h) => (h.exitStatus === undefined ? h.kill("SIGKILL") : h.exited)));
    await this.infra.dispose().catch(() => undefined);
    const pids = [...handles.map((h) => h.pid)];
    if (this.infra.nats.pid !== undefined) pids.push(this.infra.nats.pid);
    for (const r of this.infra.redis) if (r.pid !== undefined) pids.push(r.pid);
    const alive = pids.filter((pid) => isAlive(pid));
    if (!options.keepDir && process.env.CCS_IT_KEEP_LOGS !== "1") {
      rmSync(this.dir, { recursive: true, force: true });
    }
    return alive;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface EmulatorReadyLine {
  readonly event: string;
  readonly host: string;
  readonly port: number;
  readonly adminUrl: string;
  readonly certPath: string;
}

async function startEmulatorProcess(
  dir: string,
  logDir: string,
  senders: readonly SenderSpec[],
  extraArgs: readonly string[],
): Promise<EmulatorProcess> {
  const certPath = join(dir, "ccs-emulator-ca.pem");
  const log = new ProcessLog("emulator", join(logDir, "emulator.log"));
  const senderArgs = senders.flatMap((s) => ["--sender", `${s.senderId}:${s.apiKey}`]);
  const handle = await spawnProcess({
    command: process.execPath,
    args: [
      EMULATOR_CLI,
      "--port",
      "0",
      "--admin-port",
      "0",
      "--cert-out",
      certPath,
      "--seed",
      "42",
      "--keepalive-interval-ms",
      "0",
      "--drain-grace-ms",
      "500",
      "--ack-latency",
      "uniform:1-5",
      ...senderArgs,
      ...extraArgs,
    ],
    cwd: REPO_ROOT,
    env: childEnv({}),
    readyLine: /"event":"ready"/,
    readyTimeoutMs: 30_000,
    maxLines: 500,
    onLine: log.onLine,
  });
  const line = await handle.waitForLine(/"event":"ready"/, 1_000);
  const ready = JSON.parse(line) as EmulatorReadyLine;
  return {
    handle,
    log,
    host: ready.host,
    port: ready.port,
    adminUrl: ready.adminUrl,
    certPath: ready.certPath,
    admin: new EmulatorAdmin(ready.adminUrl),
  };
}

/**
 * XMPP resources the worker's connections were bound to (from its "bound as ID@gcm.googleapis.com/RES"
 * log lines): the emulator's /stats shows the same `resource` per connection, so the emulator's
 * connections of one worker can be told apart.
 */
export function boundResources(worker: ServiceProcess): Set<string> {
  const out = new Set<string>();
  for (const line of worker.log.lines) {
    const m = /bound as [^"/]+\/([^"\s]+)"/.exec(line);
    if (m?.[1] !== undefined) out.add(m[1]);
  }
  return out;
}

/** Log records of `proc` with the given msg (e.g. "slot acquired"). */
export function logRecords(proc: ServiceProcess, msg: string): LogRecord[] {
  return proc.log.records(msg);
}
