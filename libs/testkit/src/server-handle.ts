import type { InfraMode } from "./container-runtime.ts";
import { describeError, IllegalStateError, ServerStartError } from "./errors.ts";
import type { TestkitLogger } from "./logger.ts";
import { waitFor } from "./wait-for.ts";

export type ServerKind = "nats" | "redis";

/**
 * Lifecycle of a server handle:
 * - "running": started and answered its readiness probe.
 * - "paused": frozen (SIGSTOP / container pause); `resume()` continues it.
 * - "stopped": not running (stop(), kill(), a failed start, or it died on its own); `start()` again.
 * - "disposed": terminal; process/container and temp files are gone.
 */
export type ServerState = "running" | "paused" | "stopped" | "disposed";

export interface ServerHandle {
  readonly kind: ServerKind;
  readonly mode: InfraMode;
  readonly host: string;
  readonly port: number;
  /** `nats://host:port` or `redis://host:port`; stable across stop/start. */
  readonly url: string;
  readonly state: ServerState;
  /** Pid of the current local process; `undefined` in container mode or when not running. */
  readonly pid: number | undefined;
  /** Local mode: the JetStream store dir (`-sd`) or Redis working dir (`--dir`). Container mode: undefined. */
  readonly dataDir: string | undefined;
  /** Graceful stop (SIGTERM / container stop); data (JetStream store) is kept. No-op when stopped. */
  stop(): Promise<void>;
  /** Abrupt stop: SIGKILL by default (local), container kill. No-op when stopped. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts again on the same port and store dir and waits until it answers. No-op when running. */
  start(): Promise<void>;
  /** stop() then start(). */
  restart(): Promise<void>;
  /** Freezes the server (SIGSTOP / container pause). */
  pause(): Promise<void>;
  /** Continues a paused server (SIGCONT / container unpause). */
  resume(): Promise<void>;
  /** Idempotent: kills the server and removes its temp files/container. */
  dispose(): Promise<void>;
  /** Recent server output, for diagnostics. */
  output(): Promise<readonly string[]>;
}

/** What a concrete runtime (local process, container) must provide to {@link ManagedServer}. */
export interface ServerBackend {
  readonly mode: InfraMode;
  readonly host: string;
  readonly port: number;
  /** Pid of the current local process, if any. */
  readonly pid: number | undefined;
  readonly dataDir: string | undefined;
  /** Launches the server; resolves once launched (readiness is probed separately). */
  launch(): Promise<void>;
  /**
   * Resolves when the current run ends by itself; `undefined` when the backend cannot tell.
   * Only valid after `launch()`.
   */
  exitedRun(): Promise<void> | undefined;
  terminate(): Promise<void>;
  kill(signal: NodeJS.Signals): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  output(): Promise<readonly string[]>;
  /** Removes temp files / containers. Called once, after the server is down. */
  cleanup(): Promise<void>;
}

export interface ManagedServerOptions {
  readonly kind: ServerKind;
  readonly backend: ServerBackend;
  readonly probe: () => Promise<true>;
  readonly readyTimeoutMs: number;
  readonly logger: TestkitLogger;
}

/** Generic state machine behind every {@link ServerHandle}; operations are serialized. */
export class ManagedServer implements ServerHandle {
  readonly kind: ServerKind;
  readonly mode: InfraMode;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly dataDir: string | undefined;
  readonly #backend: ServerBackend;
  readonly #probe: () => Promise<true>;
  readonly #readyTimeoutMs: number;
  readonly #logger: TestkitLogger;
  #state: ServerState = "stopped";
  #queue: Promise<unknown> = Promise.resolve();
  #disposing: Promise<void> | undefined;
  /** Incremented on every launch so a stale exit notification is ignored. */
  #run = 0;
  /** Set while we stop/kill the server ourselves, so its exit is not reported as unexpected. */
  #expectingExit = false;

  constructor(options: ManagedServerOptions) {
    this.kind = options.kind;
    this.#backend = options.backend;
    this.mode = options.backend.mode;
    this.host = options.backend.host;
    this.port = options.backend.port;
    this.url = `${options.kind}://${this.host}:${this.port}`;
    this.dataDir = options.backend.dataDir;
    this.#probe = options.probe;
    this.#readyTimeoutMs = options.readyTimeoutMs;
    this.#logger = options.logger;
  }

  get state(): ServerState {
    return this.#state;
  }

  get pid(): number | undefined {
    return this.#state === "running" || this.#state === "paused" ? this.#backend.pid : undefined;
  }

  #setState(next: ServerState, reason: string): void {
    if (this.#state === next) {
      return;
    }
    this.#logger.debug(
      { kind: this.kind, url: this.url, from: this.#state, to: next, reason },
      "server state",
    );
    this.#state = next;
  }

  #serialize<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(() => {
      if (this.#state === "disposed") {
        throw new IllegalStateError(`${operation} ${this.kind} server`, "disposed");
      }
      return fn();
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }

  start(): Promise<void> {
    return this.#serialize("start", () => this.#start());
  }

  async #start(): Promise<void> {
    if (this.#state === "running") {
      return;
    }
    if (this.#state === "paused") {
      throw new IllegalStateError(`start ${this.kind} server`, "paused (use resume())");
    }
    try {
      await this.#backend.launch();
    } catch (err) {
      throw new ServerStartError(this.kind, describeError(err), await this.#safeOutput(), err);
    }
    const run = ++this.#run;
    this.#expectingExit = false;
    const exited = this.#backend.exitedRun();
    let exitedEarly = false;
    void exited?.then(() => {
      exitedEarly = true;
      if (
        run === this.#run &&
        !this.#expectingExit &&
        (this.#state === "running" || this.#state === "paused")
      ) {
        this.#logger.warn({ kind: this.kind, url: this.url }, "server exited unexpectedly");
        this.#setState("stopped", "exited");
      }
    });
    try {
      await waitFor(
        async () => {
          if (exitedEarly) {
            return true; // stop polling; handled below
          }
          return this.#probe();
        },
        {
          timeoutMs: this.#readyTimeoutMs,
          intervalMs: 50,
          description: `${this.kind} at ${this.url} to answer`,
        },
      );
      if (exitedEarly) {
        throw new Error("server process exited before it answered");
      }
    } catch (err) {
      const output = await this.#safeOutput();
      this.#expectingExit = true;
      await this.#backend.kill("SIGKILL").catch(() => undefined);
      this.#setState("stopped", "start failed");
      throw new ServerStartError(this.kind, describeError(err), output, err);
    }
    this.#setState("running", "started");
  }

  stop(): Promise<void> {
    return this.#serialize("stop", async () => {
      if (this.#state === "stopped") {
        return;
      }
      this.#expectingExit = true;
      await this.#backend.terminate();
      this.#setState("stopped", "stop()");
    });
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    return this.#serialize("kill", async () => {
      if (this.#state === "stopped") {
        return;
      }
      this.#expectingExit = true;
      await this.#backend.kill(signal);
      this.#setState("stopped", `kill(${signal})`);
    });
  }

  restart(): Promise<void> {
    return this.#serialize("restart", async () => {
      if (this.#state !== "stopped") {
        this.#expectingExit = true;
        await this.#backend.terminate();
        this.#setState("stopped", "restart()");
      }
      await this.#start();
    });
  }

  pause(): Promise<void> {
    return this.#serialize("pause", async () => {
      if (this.#state === "paused") {
        return;
      }
      if (this.#state !== "running") {
        throw new IllegalStateError(`pause ${this.kind} server`, this.#state);
      }
      await this.#backend.pause();
      this.#setState("paused", "pause()");
    });
  }

  resume(): Promise<void> {
    return this.#serialize("resume", async () => {
      if (this.#state === "running") {
        return;
      }
      if (this.#state !== "paused") {
        throw new IllegalStateError(`resume ${this.kind} server`, this.#state);
      }
      await this.#backend.resume();
      this.#setState("running", "resume()");
    });
  }

  output(): Promise<readonly string[]> {
    return this.#backend.output();
  }

  dispose(): Promise<void> {
    this.#disposing ??= this.#queue.then(async () => {
      const errors: unknown[] = [];
      this.#expectingExit = true;
      if (this.#state !== "stopped" && this.#state !== "disposed") {
        await this.#backend.kill("SIGKILL").catch((err: unknown) => errors.push(err));
      }
      await this.#backend.cleanup().catch((err: unknown) => errors.push(err));
      this.#setState("disposed", "dispose()");
      if (errors.length > 0) {
        throw new AggregateError(errors, `disposing ${this.kind} server at ${this.url} failed`);
      }
    });
    return this.#disposing;
  }

  async #safeOutput(): Promise<readonly string[]> {
    try {
      return await this.#backend.output();
    } catch {
      // Diagnostics only: an unreadable log must not hide the real start error.
      return [];
    }
  }
}
