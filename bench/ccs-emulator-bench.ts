/**
 * CCS emulator: downstream ACK throughput.
 *
 *   node bench/ccs-emulator-bench.ts [--duration-ms 10000] [--warmup-ms 2000] [--connections 4]
 *                                    [--window 100] [--devices 1000] [--rounds 1]
 *                                    [--target both|emulator|baseline] [--json]
 *
 * Starts the emulator as a child process (its CLI, so the load below does not share its thread), opens
 * `connections` raw TLS XMPP connections as sender 123456789012, and keeps each one at `window` pending
 * downstream messages (the CCS flow-control limit), writing each refill as one batch. It counts ACKs over
 * `duration-ms` after `warmup-ms`. As the baseline, in the same run, the same load goes against
 * bench/support/ack-server.ts, a raw TLS server that ACKs every <message> with regex framing and no
 * validation. Both servers use the same certificate (generated with openssl for the run). With
 * `--rounds N` the two targets alternate N times and the medians are compared, so that load from other
 * processes on the machine (printed as the load average before each run) hits both alike.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SENDER_ID = "123456789012";
const API_KEY = "demo-api-key-not-secret";
const CHILD_READY_TIMEOUT_MS = 30_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;

interface Options {
  readonly durationMs: number;
  readonly warmupMs: number;
  readonly connections: number;
  readonly window: number;
  readonly devices: number;
  readonly rounds: number;
  readonly target: "both" | "emulator" | "baseline";
  readonly json: boolean;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      "duration-ms": { type: "string", default: "10000" },
      "warmup-ms": { type: "string", default: "2000" },
      connections: { type: "string", default: "4" },
      window: { type: "string", default: "100" },
      devices: { type: "string", default: "1000" },
      rounds: { type: "string", default: "1" },
      target: { type: "string", default: "both" },
      json: { type: "boolean", default: false },
    },
  });
  const int = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${v}`);
    return n;
  };
  const target = values.target;
  if (target !== "both" && target !== "emulator" && target !== "baseline") {
    throw new Error(`--target must be both, emulator or baseline, got ${target}`);
  }
  return {
    durationMs: int("duration-ms", values["duration-ms"], 1000),
    warmupMs: int("warmup-ms", values["warmup-ms"], 0),
    connections: int("connections", values.connections, 1),
    window: int("window", values.window, 1),
    devices: int("devices", values.devices, 1),
    rounds: int("rounds", values.rounds, 1),
    target,
    json: values.json ?? false,
  };
}

// ---- child processes -----------------------------------------------------------------------------

interface Child {
  readonly proc: ChildProcess;
  readonly ready: Record<string, unknown>;
}

/** Spawns `node ARGS` in the repository root and resolves with its `{"event":"ready",...}` stdout line. */
function startChild(name: string, args: string[]): Promise<Child> {
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`${name} not ready within ${CHILD_READY_TIMEOUT_MS} ms; stderr: ${stderr}`));
    }, CHILD_READY_TIMEOUT_MS);
    proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before ready; stderr: ${stderr}`));
    });
    const lines = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return; // not a JSON line: ignore
      }
      if (
        parsed !== null &&
        typeof parsed === "object" &&
        (parsed as { event?: unknown }).event === "ready"
      ) {
        clearTimeout(timer);
        proc.removeAllListeners("exit");
        resolve({ proc, ready: parsed as Record<string, unknown> });
      }
    });
  });
}

function stopChild(child: Child): Promise<void> {
  return new Promise((resolve) => {
    if (child.proc.exitCode !== null) {
      resolve();
      return;
    }
    const timer = setTimeout(() => child.proc.kill("SIGKILL"), 5_000);
    child.proc.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.proc.kill("SIGTERM");
  });
}

/** CPU seconds (user + system) used so far by `pid`, from /proc; undefined where /proc is not there. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[11] = utime, fields[12] = stime (fields 14 and 15 of proc(5)), in clock ticks (100/s on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

// ---- load client ---------------------------------------------------------------------------------

const STREAM_HEADER =
  '<stream:stream to="gcm.googleapis.com" version="1.0" xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">';

function countOf(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length)) n += 1;
  return n;
}

/** One pipelined connection: at most `window` messages without an answer, each refill written as one batch. */
class LoadConnection {
  readonly #socket: tls.TLSSocket;
  readonly #window: number;
  readonly #tokens: readonly string[];
  readonly #prefix: string;
  #text = "";
  #waiter: { re: RegExp; resolve: () => void } | undefined;
  #running = false;
  #seq = 0;
  inflight = 0;
  sent = 0;
  acked = 0;
  nacked = 0;
  errors = 0;

  private constructor(socket: tls.TLSSocket, window: number, tokens: readonly string[], prefix: string) {
    this.#socket = socket;
    this.#window = window;
    this.#tokens = tokens;
    this.#prefix = prefix;
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => this.#onData(d.toString("utf8")));
    socket.on("error", () => {
      this.errors += 1;
    });
  }

  static async open(
    port: number,
    ca: string,
    window: number,
    tokens: readonly string[],
    prefix: string,
  ): Promise<LoadConnection> {
    const socket = tls.connect({ host: "127.0.0.1", port, ca });
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", () => resolve());
      socket.once("error", reject);
    });
    const c = new LoadConnection(socket, window, tokens, prefix);
    await c.#handshake();
    return c;
  }

  async #handshake(): Promise<void> {
    const auth = Buffer.from(`\u0000${SENDER_ID}@gcm.googleapis.com\u0000${API_KEY}`).toString("base64");
    this.#socket.write(STREAM_HEADER);
    await this.#expect(/<\/(?:str|stream):features>/);
    this.#socket.write(`<auth mechanism="PLAIN" xmlns="urn:ietf:params:xml:ns:xmpp-sasl">${auth}</auth>`);
    await this.#expect(/<success[^>]*\/>/);
    this.#socket.write(STREAM_HEADER);
    await this.#expect(/<\/stream:features>/);
    this.#socket.write(
      `<iq type="set" id="b1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>${this.#prefix}</resource></bind></iq>`,
    );
    await this.#expect(/<iq[^>]*id="b1"[\s\S]*?(?:<\/iq>|\/>)/);
    this.#socket.write('<iq type="set" id="s1"><session xmlns="urn:ietf:params:xml:ns:xmpp-session"/></iq>');
    await this.#expect(/<iq[^>]*id="s1"[^>]*\/>|<iq[^>]*id="s1"[\s\S]*?<\/iq>/);
    this.#text = "";
  }

  #expect(re: RegExp): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(`handshake: no ${re} within ${HANDSHAKE_TIMEOUT_MS} ms; got ${this.#text.slice(-500)}`),
          ),
        HANDSHAKE_TIMEOUT_MS,
      );
      this.#waiter = {
        re,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.#check();
    });
  }

  #check(): void {
    const w = this.#waiter;
    if (w === undefined) return;
    const m = w.re.exec(this.#text);
    if (m === null) return;
    this.#text = this.#text.slice(m.index + m[0].length);
    this.#waiter = undefined;
    w.resolve();
  }

  #onData(chunk: string): void {
    this.#text += chunk;
    if (!this.#running) {
      this.#check();
      return;
    }
    const end = this.#text.lastIndexOf("</message>");
    if (end < 0) return;
    const complete = this.#text.slice(0, end + 10);
    this.#text = this.#text.slice(end + 10);
    const acks = countOf(complete, '"message_type":"ack"');
    const nacks = countOf(complete, '"message_type":"nack"');
    const errors = countOf(complete, 'type="error"');
    this.acked += acks;
    this.nacked += nacks;
    this.errors += errors;
    this.inflight -= acks + nacks + errors;
    this.#pump();
  }

  #pump(): void {
    if (!this.#running) return;
    const n = this.#window - this.inflight;
    if (n <= 0) return;
    const parts: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      this.#seq += 1;
      const id = `${this.#prefix}-${this.#seq}`;
      const to = this.#tokens[this.#seq % this.#tokens.length];
      parts[i] =
        `<message id="${id}"><gcm xmlns="google:mobile:data">` +
        `{"to":"${to}","message_id":"${id}","data":{"k":"v"}}</gcm></message>`;
    }
    this.inflight += n;
    this.sent += n;
    this.#socket.write(parts.join(""));
  }

  start(): void {
    this.#running = true;
    this.#pump();
  }

  /** Stops refilling and waits (bounded) for the answers still in flight, then closes. */
  async stop(): Promise<void> {
    this.#running = false;
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline) {
      this.#countTail();
      if (this.inflight <= 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    this.#socket.end("</stream:stream>");
    this.#socket.destroySoon();
  }

  #countTail(): void {
    const end = this.#text.lastIndexOf("</message>");
    if (end < 0) return;
    const complete = this.#text.slice(0, end + 10);
    this.#text = this.#text.slice(end + 10);
    const answers =
      countOf(complete, '"message_type":"ack"') +
      countOf(complete, '"message_type":"nack"') +
      countOf(complete, 'type="error"');
    this.acked += countOf(complete, '"message_type":"ack"');
    this.inflight -= answers;
  }
}

// ---- one run -------------------------------------------------------------------------------------

interface RunResult {
  readonly target: string;
  readonly loadAverage1m: number;
  readonly ackedPerSecond: number;
  readonly minPerSecond: number;
  readonly maxPerSecond: number;
  readonly acked: number;
  readonly nacked: number;
  readonly errors: number;
  readonly measuredMs: number;
  readonly serverCpuSeconds: number | undefined;
  readonly clientCpuSeconds: number;
  readonly serverStats?: Record<string, unknown>;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function makeTokens(n: number): string[] {
  const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const tokens: string[] = [];
  let x = 0x2545f491;
  for (let i = 0; i < n; i++) {
    let s = "APA91b";
    for (let j = 0; j < 40; j++) {
      x = (x * 1103515245 + 12345) >>> 0;
      s += alnum[x % alnum.length];
    }
    tokens.push(s);
  }
  return tokens;
}

async function runLoad(
  target: string,
  port: number,
  ca: string,
  serverPid: number | undefined,
  opts: Options,
): Promise<Omit<RunResult, "serverStats">> {
  const loadAverage1m = loadavg()[0] ?? 0;
  const tokens = makeTokens(opts.devices);
  const runId = Math.random().toString(36).slice(2, 8);
  const conns = await Promise.all(
    Array.from({ length: opts.connections }, (_, i) =>
      LoadConnection.open(port, ca, opts.window, tokens, `b${runId}c${i}`),
    ),
  );
  const total = (): number => conns.reduce((s, c) => s + c.acked, 0);
  for (const c of conns) c.start();
  await sleep(opts.warmupMs);
  const start = {
    t: performance.now(),
    acked: total(),
    server: cpuSeconds(serverPid),
    client: selfCpuSeconds(),
  };
  const perSecond: number[] = [];
  let last = start.acked;
  const sampler = setInterval(() => {
    const now = total();
    perSecond.push(now - last);
    last = now;
  }, 1000);
  await sleep(opts.durationMs);
  clearInterval(sampler);
  const end = {
    t: performance.now(),
    acked: total(),
    server: cpuSeconds(serverPid),
    client: selfCpuSeconds(),
  };
  await Promise.all(conns.map((c) => c.stop()));
  const measuredMs = end.t - start.t;
  return {
    target,
    loadAverage1m,
    ackedPerSecond: ((end.acked - start.acked) * 1000) / measuredMs,
    minPerSecond: perSecond.length > 0 ? Math.min(...perSecond) : 0,
    maxPerSecond: perSecond.length > 0 ? Math.max(...perSecond) : 0,
    acked: end.acked - start.acked,
    nacked: conns.reduce((s, c) => s + c.nacked, 0),
    errors: conns.reduce((s, c) => s + c.errors, 0),
    measuredMs,
    serverCpuSeconds:
      start.server === undefined || end.server === undefined ? undefined : end.server - start.server,
    clientCpuSeconds: end.client - start.client,
  };
}

async function benchEmulator(certPath: string, keyPath: string, opts: Options): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), "ccs-emu-bench-"));
  const child = await startChild("emulator", [
    "services/ccs-emulator/src/cli.ts",
    "--port",
    "0",
    "--admin-port",
    "0",
    "--tls-cert",
    certPath,
    "--tls-key",
    keyPath,
    "--cert-out",
    join(dir, "cert.pem"),
    "--log-level",
    "silent",
  ]);
  try {
    const port = Number(child.ready.port);
    const adminUrl = String(child.ready.adminUrl);
    const ca = readFileSync(certPath, "utf8");
    const result = await runLoad("emulator", port, ca, child.proc.pid, opts);
    const stats = (await (await fetch(`${adminUrl}/stats`)).json()) as { counters?: Record<string, unknown> };
    const c = stats.counters ?? {};
    return {
      ...result,
      serverStats: {
        downstreamReceived: c.downstreamReceived,
        acked: c.acked,
        nacked: c.nacked,
        pendingViolations: c.pendingViolations,
        deliveredToDevices: c.deliveredToDevices,
      },
    };
  } finally {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchBaseline(certPath: string, keyPath: string, opts: Options): Promise<RunResult> {
  const child = await startChild("baseline", [
    "bench/support/ack-server.ts",
    "--cert",
    certPath,
    "--key",
    keyPath,
  ]);
  try {
    const ca = readFileSync(certPath, "utf8");
    return await runLoad("baseline", Number(child.ready.port), ca, child.proc.pid, opts);
  } finally {
    await stopChild(child);
  }
}

/** A throwaway P-256 certificate for 127.0.0.1/localhost, shared by both servers so TLS costs the same. */
function makeCertificate(dir: string): { certPath: string; keyPath: string } {
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:gcm.googleapis.com",
    ],
    { stdio: "ignore" },
  );
  return { certPath, keyPath };
}

function median(runs: readonly RunResult[]): number | undefined {
  if (runs.length === 0) return undefined;
  const sorted = runs.map((r) => r.ackedPerSecond).sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Median of ACKs per second of server CPU: less sensitive than ACKs/s to other load on a shared machine. */
function medianPerCpuSecond(runs: readonly RunResult[]): number | undefined {
  const values = runs
    .filter((r) => r.serverCpuSeconds !== undefined && r.serverCpuSeconds > 0)
    .map((r) => r.acked / (r.serverCpuSeconds ?? 1))
    .sort((a, b) => a - b);
  if (values.length === 0) return undefined;
  const mid = Math.floor(values.length / 2);
  return values.length % 2 === 1 ? values[mid] : ((values[mid - 1] ?? 0) + (values[mid] ?? 0)) / 2;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

async function main(): Promise<void> {
  const opts = parseOptions();
  const dir = mkdtempSync(join(tmpdir(), "ccs-bench-cert-"));
  try {
    const { certPath, keyPath } = makeCertificate(dir);
    const results: RunResult[] = [];
    for (let round = 0; round < opts.rounds; round++) {
      if (opts.target !== "baseline") results.push(await benchEmulator(certPath, keyPath, opts));
      if (opts.target !== "emulator") results.push(await benchBaseline(certPath, keyPath, opts));
    }
    const emulator = median(results.filter((r) => r.target === "emulator"));
    const baseline = median(results.filter((r) => r.target === "baseline"));
    const ratio = emulator !== undefined && baseline !== undefined ? emulator / baseline : undefined;
    const emulatorPerCpu = medianPerCpuSecond(results.filter((r) => r.target === "emulator"));
    const baselinePerCpu = medianPerCpuSecond(results.filter((r) => r.target === "baseline"));
    const machine = {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      memGiB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
    };
    if (opts.json) {
      process.stdout.write(
        `${JSON.stringify({ date: new Date().toISOString(), machine, opts, results, ratio })}\n`,
      );
      return;
    }
    process.stdout.write(
      `CCS emulator downstream ACK throughput (${opts.connections} connections x ${opts.window} pending, ` +
        `${opts.durationMs} ms after ${opts.warmupMs} ms warm-up, ${opts.devices} device tokens)\n` +
        `machine: ${machine.cpus} x ${machine.cpuModel}, ${machine.memGiB} GiB, Node ${machine.node}, Linux ${machine.kernel}\n\n`,
    );
    for (const r of results) {
      const cpu =
        r.serverCpuSeconds === undefined
          ? "n/a"
          : `${(r.serverCpuSeconds / (r.measuredMs / 1000)).toFixed(2)}`;
      const perCpu =
        r.serverCpuSeconds === undefined || r.serverCpuSeconds === 0
          ? "n/a"
          : fmt(r.acked / r.serverCpuSeconds);
      process.stdout.write(
        `${r.target.padEnd(9)} load ${r.loadAverage1m.toFixed(1)}  ${fmt(r.ackedPerSecond).padStart(9)} ACKs/s  (per-second min ${fmt(r.minPerSecond)}, max ${fmt(r.maxPerSecond)}; ` +
          `nacks ${r.nacked}, errors ${r.errors}; server CPU ${cpu} cores = ${perCpu} ACKs per server CPU-second, client CPU ${(r.clientCpuSeconds / (r.measuredMs / 1000)).toFixed(2)} cores)\n`,
      );
      if (r.serverStats !== undefined)
        process.stdout.write(`          emulator /stats: ${JSON.stringify(r.serverStats)}\n`);
    }
    const med = (x: number | undefined): string => (x === undefined ? "n/a" : fmt(x));
    process.stdout.write(
      `\nmedian ACKs/s over ${opts.rounds} round(s): emulator ${med(emulator)}, baseline ${med(baseline)}` +
        (ratio === undefined ? "\n" : `, emulator / baseline = ${ratio.toFixed(2)}\n`),
    );
    process.stdout.write(
      `median ACKs per server CPU-second: emulator ${med(emulatorPerCpu)}, baseline ${med(baselinePerCpu)}` +
        (emulatorPerCpu !== undefined && baselinePerCpu !== undefined
          ? `, emulator / baseline = ${(emulatorPerCpu / baselinePerCpu).toFixed(2)}\n`
          : "\n"),
    );
    if (emulator !== undefined) {
      process.stdout.write(
        `target >= 100,000 ACKs/s: ${emulator >= 100_000 ? "met" : "NOT met"} (${fmt(emulator)})\n`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
