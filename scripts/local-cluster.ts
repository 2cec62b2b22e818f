// `npm start`: the whole cluster on one machine with embedded defaults. Each component is started in
// order, its address printed, and everything is stopped (in reverse order) on Ctrl-C / SIGTERM.
// Configuration: see "Local cluster" in README.md (every variable below has a default).
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type ProcessHandle, type ServerHandle, spawnProcess, startNats, startRedis } from "@ccs/testkit";

interface LocalClusterConfig {
  readonly dir: string;
  readonly natsPort: number;
  readonly redisPort: number;
  readonly emulatorPort: number;
  readonly emulatorAdminPort: number;
}

const repoRoot = resolve(import.meta.dirname, "..");

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) {
    throw new Error(`${name} must be a port number from 0 to 65535, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function loadConfig(): LocalClusterConfig {
  return {
    dir: resolve(repoRoot, process.env.CCS_LOCAL_DIR ?? ".local-cluster"),
    natsPort: intFromEnv("CCS_LOCAL_NATS_PORT", 4222),
    redisPort: intFromEnv("CCS_LOCAL_REDIS_PORT", 6379),
    emulatorPort: intFromEnv("CCS_LOCAL_EMULATOR_PORT", 5235),
    emulatorAdminPort: intFromEnv("CCS_LOCAL_EMULATOR_ADMIN_PORT", 5280),
  };
}

interface Running {
  readonly name: string;
  stop(): Promise<void>;
}

function serverComponent(name: string, handle: ServerHandle): Running {
  return { name, stop: () => handle.dispose() };
}

function processComponent(name: string, handle: ProcessHandle): Running {
  return {
    name,
    stop: async () => {
      await handle.stop(10_000);
    },
  };
}

function prefixed(name: string): (line: string) => void {
  return (line) => {
    if (process.env.CCS_LOCAL_VERBOSE === "1") process.stderr.write(`[${name}] ${line}\n`);
  };
}

async function startEmulator(config: LocalClusterConfig): Promise<{ handle: ProcessHandle; ready: EmulatorReady }> {
  const certOut = join(config.dir, "ccs-emulator-cert.pem");
  const handle = await spawnProcess({
    command: process.execPath,
    args: [
      join(repoRoot, "services/ccs-emulator/src/cli.ts"),
      "--port",
      String(config.emulatorPort),
      "--admin-port",
      String(config.emulatorAdminPort),
      "--cert-out",
      certOut,
    ],
    readyLine: (line) => line.includes('"ready"'),
    readyTimeoutMs: 30_000,
    onLine: prefixed("ccs-emulator"),
  });
  const line = await handle.waitForLine((l) => l.includes('"ready"'), 1_000);
  return { handle, ready: JSON.parse(line) as EmulatorReady };
}

interface EmulatorReady {
  readonly host: string;
  readonly port: number;
  readonly adminPort: number;
  readonly certPath: string;
}

async function main(): Promise<void> {
  const config = loadConfig();
  await mkdir(config.dir, { recursive: true });
  const running: Running[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = (): Promise<void> => {
    stopping ??= (async () => {
      for (const component of running.reverse()) {
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
      port: config.natsPort,
      storeDir: join(config.dir, "nats"),
    });
    running.push(serverComponent("nats-server", nats));
    const redis = await startRedis({ mode: "local", port: config.redisPort, dataDir: join(config.dir, "redis") });
    running.push(serverComponent("redis-server", redis));
    const emulator = await startEmulator(config);
    running.push(processComponent("ccs-emulator", emulator.handle));

    const summary = {
      event: "ready",
      nats: nats.url,
      redis: redis.url,
      ccsEmulator: {
        xmpp: `${emulator.ready.host}:${emulator.ready.port}`,
        admin: `http://${emulator.ready.host}:${emulator.ready.adminPort}`,
        certPath: emulator.ready.certPath,
      },
      dataDir: config.dir,
    };
    process.stdout.write(
      [
        "CCS local cluster is running:",
        `  NATS (JetStream)   ${nats.url}`,
        `  Redis              ${redis.url}`,
        `  CCS emulator       ${summary.ccsEmulator.xmpp} (TLS; CA ${summary.ccsEmulator.certPath})`,
        `  emulator admin     ${summary.ccsEmulator.admin}/stats`,
        `  data               ${config.dir}`,
        "Press Ctrl-C to stop.",
        JSON.stringify(summary),
        "",
      ].join("\n"),
    );
  } catch (err) {
    process.stderr.write(`local cluster failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll();
    process.exit(1);
  }
}

await main();
