// `npm start`: the whole cluster on one machine with embedded defaults — NATS (JetStream), Redis, the
// CCS emulator (demo sender, simulated devices sending upstream), two coordinators and two workers.
// Each component is started in order and awaited until ready; then where everything is and how to
// send a message and watch outcomes are printed (plus one JSON line, `"event":"ready"`, for tools).
// Ctrl-C / SIGTERM stops everything in reverse order (workers first, gracefully).
// Configuration: see "Local cluster" in README.md (every variable below has a default).
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  PortInUseError,
  type ProcessHandle,
  type ServerHandle,
  spawnProcess,
  startNats,
  startRedis,
  waitFor,
} from "@ccs/testkit";

const DEMO_SENDER_ID = "123456789012";
const DEMO_API_KEY = "demo-api-key-not-secret";
const DEMO_CONNECTIONS = 4;
const DEMO_DEVICES = [
  "demo-device-1:APA91bDemoToken1",
  "demo-device-2:APA91bDemoToken2",
  "demo-device-3:APA91bDemoToken3",
];
const DEMO_CATEGORY = "com.example.demo";
/** Workers get this long to finish sends in flight on Ctrl-C before they are killed. */
const WORKER_STOP_TIMEOUT_MS = 25_000;
const STOP_TIMEOUT_MS = 10_000;
const READY_TIMEOUT_MS = 60_000;

interface LocalClusterConfig {
  readonly dir: string;
  /** 0 = any free port. */
  readonly natsPort: number;
  readonly redisPort: number;
  readonly emulatorPort: number;
  readonly emulatorAdminPort: number;
  readonly coordinatorPorts: readonly [number, number];
  readonly workerPorts: readonly [number, number];
  readonly workerCapacity: number;
  readonly upstreamRate: number;
  readonly verbose: boolean;
}

const repoRoot = resolve(import.meta.dirname, "..");

function intFromEnv(name: string, fallback: number, max = 65_535): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new Error(`${name} must be an integer from 0 to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function portPairFromEnv(name: string, fallback: readonly [number, number]): readonly [number, number] {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const ports = raw.split(",").map((p) => Number(p.trim()));
  const [a, b] = ports;
  if (
    ports.length !== 2 ||
    a === undefined ||
    b === undefined ||
    !ports.every((p) => Number.isInteger(p) && p >= 0 && p <= 65_535)
  ) {
    throw new Error(`${name} must be two ports "A,B" (0 = any free port), got ${JSON.stringify(raw)}`);
  }
  return [a, b];
}

function loadConfig(): LocalClusterConfig {
  return {
    dir: resolve(repoRoot, process.env.CCS_LOCAL_DIR ?? ".local-cluster"),
    natsPort: intFromEnv("CCS_LOCAL_NATS_PORT", 4222),
    redisPort: intFromEnv("CCS_LOCAL_REDIS_PORT", 6379),
    emulatorPort: intFromEnv("CCS_LOCAL_EMULATOR_PORT", 5235),
    emulatorAdminPort: intFromEnv("CCS_LOCAL_EMULATOR_ADMIN_PORT", 5280),
    coordinatorPorts: portPairFromEnv("CCS_LOCAL_COORDINATOR_PORTS", [8090, 8092]),
    workerPorts: portPairFromEnv("CCS_LOCAL_WORKER_PORTS", [8091, 8093]),
    workerCapacity: intFromEnv("CCS_LOCAL_WORKER_CAPACITY", 16, 10_000),
    upstreamRate: intFromEnv("CCS_LOCAL_UPSTREAM_RATE", 2, 10_000),
    verbose: process.env.CCS_LOCAL_VERBOSE === "1",
  };
}

interface Running {
  readonly name: string;
  stop(): Promise<void>;
}

function serverComponent(name: string, handle: ServerHandle): Running {
  return { name, stop: () => handle.dispose() };
}

function processComponent(name: string, handle: ProcessHandle, timeoutMs = STOP_TIMEOUT_MS): Running {
  return {
    name,
    stop: async () => {
      const status = await handle.stop(timeoutMs);
      if (status.code !== 0 && status.signal !== null) {
        process.stderr.write(`${name} did not stop in ${timeoutMs} ms (${status.signal})\n`);
      }
    },
  };
}

function prefixed(config: LocalClusterConfig, name: string): (line: string) => void {
  return (line) => {
    if (config.verbose) process.stderr.write(`[${name}] ${line}\n`);
  };
}

/** The children's environment: this shell's, minus any CCS_* settings meant for something else. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("CCS_")) env[k] = v;
  return { LOG_LEVEL: "info", ...env, ...extra };
}

interface EmulatorReady {
  readonly host: string;
  readonly port: number;
  readonly adminPort: number;
  readonly adminUrl: string;
  /** Where the emulator wrote its (generated) TLS certificate: the CA for the workers. */
  readonly certPath: string;
}

const EMULATOR_READY = /"event":"ready"/;

async function startEmulator(
  config: LocalClusterConfig,
): Promise<{ handle: ProcessHandle; ready: EmulatorReady }> {
  const upstream =
    config.upstreamRate > 0
      ? [
          "--upstream-rate",
          String(config.upstreamRate),
          "--upstream-devices",
          DEMO_DEVICES.join(","),
          "--upstream-categories",
          DEMO_CATEGORY,
        ]
      : [];
  const handle = await spawnProcess({
    command: process.execPath,
    args: [
      join(repoRoot, "services/ccs-emulator/src/cli.ts"),
      "--port",
      String(config.emulatorPort),
      "--admin-port",
      String(config.emulatorAdminPort),
      "--cert-out",
      join(config.dir, "ccs-emulator-cert.pem"),
      "--sender",
      `${DEMO_SENDER_ID}:${DEMO_API_KEY}`,
      ...upstream,
    ],
    env: childEnv({}),
    // The ready line is the JSON object on stdout with "event":"ready" (its log lines on stderr also
    // say "ready" and carry no certPath: matching them printed "CA undefined").
    readyLine: EMULATOR_READY,
    readyTimeoutMs: 30_000,
    onLine: prefixed(config, "ccs-emulator"),
  });
  const ready = JSON.parse(await handle.waitForLine(EMULATOR_READY, 1_000)) as EmulatorReady;
  return { handle, ready };
}

interface Service {
  readonly id: string;
  readonly handle: ProcessHandle;
  readonly statusUrl: string;
}

function readyPort(line: string): number {
  const port = (JSON.parse(line) as { httpPort?: unknown }).httpPort;
  if (typeof port !== "number") throw new Error(`ready line without httpPort: ${line}`);
  return port;
}

async function startCoordinator(
  config: LocalClusterConfig,
  id: string,
  port: number,
  shared: Record<string, string>,
): Promise<Service> {
  const ready = /"msg":"coordinator running"/;
  const handle = await spawnProcess({
    command: process.execPath,
    args: [join(repoRoot, "services/coordinator/src/main.ts")],
    cwd: repoRoot,
    env: childEnv({
      ...shared,
      CCS_COORDINATOR_ID: id,
      CCS_HTTP_HOST: "127.0.0.1",
      CCS_HTTP_PORT: String(port),
    }),
    readyLine: ready,
    readyTimeoutMs: READY_TIMEOUT_MS,
    onLine: prefixed(config, id),
  });
  const httpPort = readyPort(await handle.waitForLine(ready, 1_000));
  return { id, handle, statusUrl: `http://127.0.0.1:${httpPort}/status` };
}

async function startWorker(
  config: LocalClusterConfig,
  id: string,
  port: number,
  shared: Record<string, string>,
  emulator: EmulatorReady,
): Promise<Service> {
  const ready = /"msg":"worker ready"/;
  const handle = await spawnProcess({
    command: process.execPath,
    args: [join(repoRoot, "services/worker/src/main.ts")],
    cwd: repoRoot,
    env: childEnv({
      ...shared,
      CCS_WORKER_ID: id,
      CCS_WORKER_CAPACITY: String(config.workerCapacity),
      CCS_WORKER_HTTP_HOST: "127.0.0.1",
      CCS_WORKER_HTTP_PORT: String(port),
      CCS_HOST: "127.0.0.1",
      CCS_PORT: String(emulator.port),
      CCS_CA_FILE: emulator.certPath,
    }),
    readyLine: ready,
    readyTimeoutMs: READY_TIMEOUT_MS,
    onLine: prefixed(config, id),
  });
  const httpPort = readyPort(await handle.waitForLine(ready, 1_000));
  return { id, handle, statusUrl: `http://127.0.0.1:${httpPort}/status` };
}

/** Waits until the workers own every slot of the demo sender (the leader assigned them, locks taken). */
async function waitForSlots(workers: readonly Service[], want: number): Promise<number> {
  let owned = 0;
  try {
    await waitFor(
      async () => {
        const counts = await Promise.all(
          workers.map(async (w) => {
            const res = await fetch(w.statusUrl);
            const body = (await res.json()) as { slots?: unknown[] };
            return body.slots?.length ?? 0;
          }),
        );
        owned = counts.reduce((a, b) => a + b, 0);
        return owned >= want;
      },
      { timeoutMs: READY_TIMEOUT_MS, description: `workers own ${want} slots` },
    );
  } catch {
    process.stderr.write(`warning: workers own ${owned} of ${want} slots after ${READY_TIMEOUT_MS} ms\n`);
  }
  return owned;
}

async function main(): Promise<void> {
  const config = loadConfig();
  await mkdir(config.dir, { recursive: true });
  const running: Running[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      for (const component of running.splice(0).reverse()) {
        try {
          await component.stop();
          process.stdout.write(`stopped ${component.name}\n`);
        } catch (err) {
          process.stderr.write(`failed to stop ${component.name}: ${String(err)}\n`);
        }
      }
    })();
    return stopping;
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      process.stdout.write(`\n${signal}: stopping the local cluster\n`);
      void stopAll().then(() => process.exit(0));
    });
  }

  try {
    const nats = await startNats({
      mode: "local",
      ...(config.natsPort === 0 ? {} : { port: config.natsPort }),
      storeDir: join(config.dir, "nats"),
    });
    running.push(serverComponent("nats-server", nats));
    const redis = await startRedis({
      mode: "local",
      ...(config.redisPort === 0 ? {} : { port: config.redisPort }),
      dataDir: join(config.dir, "redis"),
    });
    running.push(serverComponent("redis-server", redis));
    const emulator = await startEmulator(config);
    running.push(processComponent("ccs-emulator", emulator.handle));

    const sendersFile = join(config.dir, "senders.json");
    await writeFile(
      sendersFile,
      `${JSON.stringify({ senders: [{ senderId: DEMO_SENDER_ID, apiKey: DEMO_API_KEY, connections: DEMO_CONNECTIONS }] }, null, 2)}\n`,
    );
    const shared = { CCS_NATS_SERVERS: nats.url, CCS_REDIS_URLS: redis.url, CCS_SENDERS_FILE: sendersFile };

    const coordinators: Service[] = [];
    for (const [i, port] of config.coordinatorPorts.entries()) {
      const c = await startCoordinator(config, `coordinator-${i + 1}`, port, shared);
      running.push(processComponent(c.id, c.handle));
      coordinators.push(c);
    }
    const workers: Service[] = [];
    for (const [i, port] of config.workerPorts.entries()) {
      const w = await startWorker(config, `worker-${i + 1}`, port, shared, emulator.ready);
      running.push(processComponent(w.id, w.handle, WORKER_STOP_TIMEOUT_MS));
      workers.push(w);
    }
    const slotsOwned = await waitForSlots(workers, DEMO_CONNECTIONS);

    const natsEnv = nats.url === "nats://127.0.0.1:4222" ? "" : `CCS_NATS_SERVERS=${nats.url} `;
    const sendCommand = `${natsEnv}npm run send -- --to demo-device-1:APA91bDemoToken1 --data hello=world`;
    const watchCommand = `${natsEnv}npm run watch`;
    const summary = {
      event: "ready",
      nats: nats.url,
      redis: redis.url,
      ccsEmulator: {
        xmpp: `${emulator.ready.host}:${emulator.ready.port}`,
        admin: `http://${emulator.ready.host}:${emulator.ready.adminPort}`,
        certPath: emulator.ready.certPath,
      },
      sender: { senderId: DEMO_SENDER_ID, connections: DEMO_CONNECTIONS, sendersFile },
      coordinators: coordinators.map((c) => ({ id: c.id, pid: c.handle.pid, statusUrl: c.statusUrl })),
      workers: workers.map((w) => ({ id: w.id, pid: w.handle.pid, statusUrl: w.statusUrl })),
      slotsOwned,
      send: sendCommand,
      watch: watchCommand,
      dataDir: config.dir,
    };
    process.stdout.write(
      [
        "CCS local cluster is running:",
        `  NATS (JetStream)   ${nats.url}`,
        `  Redis              ${redis.url}`,
        `  CCS emulator       ${summary.ccsEmulator.xmpp} (TLS; CA ${summary.ccsEmulator.certPath})`,
        `  emulator admin     ${summary.ccsEmulator.admin}/stats`,
        `  demo sender        ${DEMO_SENDER_ID} (${DEMO_CONNECTIONS} connections, ${sendersFile})`,
        ...coordinators.map((c) => `  ${c.id.padEnd(18)} ${c.statusUrl}`),
        ...workers.map((w) => `  ${w.id.padEnd(18)} ${w.statusUrl}`),
        `  slots owned        ${slotsOwned} of ${DEMO_CONNECTIONS}`,
        `  data               ${config.dir}`,
        "",
        `Send a message:     ${sendCommand}`,
        `Watch outcomes, upstream messages and receipts:  ${watchCommand}`,
        "Press Ctrl-C to stop.",
        JSON.stringify(summary),
        "",
      ].join("\n"),
    );
  } catch (err) {
    process.stderr.write(
      `local cluster failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    const portInUse = causeOfType(err, PortInUseError);
    if (portInUse !== undefined) {
      process.stderr.write(
        `port ${portInUse.port} is taken (a system nats-server or redis-server?): pick free ports with ` +
          "CCS_LOCAL_NATS_PORT, CCS_LOCAL_REDIS_PORT, CCS_LOCAL_EMULATOR_PORT, CCS_LOCAL_EMULATOR_ADMIN_PORT, " +
          "CCS_LOCAL_COORDINATOR_PORTS or CCS_LOCAL_WORKER_PORTS (0 = any free port)\n",
      );
    }
    await stopAll();
    process.exit(1);
  }
}

/** The first error of `type` in the cause chain of `err` (start-up errors wrap their cause). */
function causeOfType<T extends Error>(
  err: unknown,
  type: abstract new (...args: never[]) => T,
): T | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if (e instanceof type) return e;
  }
  return undefined;
}

await main();
