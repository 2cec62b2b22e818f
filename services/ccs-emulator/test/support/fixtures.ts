/**
 * Lifecycle helpers for the conformance suite: an emulator per file (or per test), a pool of raw
 * clients closed after each test, unique device tokens and a polling wait with a deadline.
 */
import { randomBytes } from "node:crypto";
import { type EmulatorOptions, type RunningEmulator, startEmulator } from "../../src/index.ts";
import { AdminClient } from "./admin.ts";
import { type Credentials, DEFAULT_TIMEOUT_MS, RawXmppClient, type TimeoutMs } from "./raw-xmpp-client.ts";

export const SENDER_A: Credentials = { senderId: "123456789", apiKey: "conformance-key-A-5f2c" };
export const SENDER_B: Credentials = { senderId: "555000111222", apiKey: "conformance-key-B-9d41" };

export interface TestEmulator {
  readonly emu: RunningEmulator;
  readonly admin: AdminClient;
  readonly clients: ClientPool;
  /** Closes the test's clients, waits until the server sees no open connection, then POST /reset. */
  quiesce(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts an emulator on free ports with SENDER_A and SENDER_B unless `options` says otherwise. */
export async function startTestEmulator(options: EmulatorOptions = {}): Promise<TestEmulator> {
  const emu = await startEmulator({ port: 0, adminPort: 0, senders: [SENDER_A, SENDER_B], ...options });
  const admin = new AdminClient(emu.adminUrl);
  const clients = new ClientPool(emu);
  return {
    emu,
    admin,
    clients,
    async quiesce() {
      await clients.closeAll();
      await waitUntil(
        async () => (await admin.stats()).connections.filter((c) => c.state !== "closed").length,
        (n) => n === 0,
        "the emulator to see every connection closed",
      );
      await admin.reset();
    },
    async stop() {
      await clients.closeAll();
      await emu.stop();
    },
  };
}

/** Tracks the raw clients of a test so `closeAll()` (afterEach) leaves no socket open. */
export class ClientPool {
  readonly #emu: RunningEmulator;
  readonly #clients = new Set<RawXmppClient>();

  constructor(emu: RunningEmulator) {
    this.#emu = emu;
  }

  /** A TLS-connected client that has not sent anything yet. */
  async connect(): Promise<RawXmppClient> {
    const c = await RawXmppClient.connect(this.#emu);
    this.#clients.add(c);
    return c;
  }

  /** A client through the whole handshake, bound with `resource` (unique one generated if omitted). */
  async online(creds: Credentials = SENDER_A, resource: string = uniqueName("res")): Promise<RawXmppClient> {
    const c = await this.connect();
    await c.login(creds, { resource });
    return c;
  }

  async closeAll(): Promise<void> {
    const all = [...this.#clients];
    this.#clients.clear();
    await Promise.all(all.map((c) => c.close(1_000)));
  }
}

let counter = 0;

/** A unique, well-formed name (letters and digits only). */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${counter}x${randomBytes(4).toString("hex")}`;
}

/** A registration-token-looking string: `APA91b` and 40 alphanumerics. */
export function token(): string {
  const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  let s = "APA91b";
  for (const b of randomBytes(40)) s += alnum[b % alnum.length];
  return s;
}

export class WaitTimeoutError extends Error {
  readonly description: string;
  constructor(description: string, timeoutMs: TimeoutMs, last: unknown) {
    super(`timed out after ${timeoutMs} ms waiting for ${description}; last value/error: ${describe(last)}`);
    this.name = "WaitTimeoutError";
    this.description = description;
  }
}

function describe(v: unknown): string {
  if (v instanceof Error) return v.message;
  try {
    return JSON.stringify(v)?.slice(0, 800) ?? String(v);
  } catch {
    return String(v);
  }
}

/**
 * Polls `probe` until `accept(value)` holds and returns that value; throws WaitTimeoutError (with the
 * last value seen) at the deadline. A probe that throws counts as "not yet".
 */
export async function waitUntil<T>(
  probe: () => Promise<T> | T,
  accept: (value: T) => boolean,
  description: string,
  timeoutMs: TimeoutMs = DEFAULT_TIMEOUT_MS,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      last = value;
      if (accept(value)) return value;
    } catch (err) {
      last = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new WaitTimeoutError(description, timeoutMs, last);
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, left)));
  }
}

/** Resolves after `ms`: only for letting a time-based condition under test pass (TTL expiry, a window). */
export function elapse(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
