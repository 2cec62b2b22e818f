import { type ChildProcess, spawn } from "node:child_process";
import { registerChild } from "./child-registry.ts";
import {
  InvalidOptionError,
  ProcessExitedError,
  ReadyTimeoutError,
  SpawnError,
  WaitTimeoutError,
} from "./errors.ts";
import { DEFAULT_MAX_LINES, LineBuffer, LineSplitter } from "./line-buffer.ts";

/** Default time `spawnProcess` waits for `readyLine`. */
export const DEFAULT_READY_TIMEOUT_MS = 15_000;
/** Default grace period of `stop()` between SIGTERM and SIGKILL. */
export const DEFAULT_STOP_TIMEOUT_MS = 5_000;

export type LineMatcher = RegExp | ((line: string) => boolean);
export type OutputStream = "stdout" | "stderr";

export interface SpawnProcessOptions {
  readonly command: string;
  /** Default `[]`. */
  readonly args?: readonly string[];
  /** Environment of the child. Default: the parent's `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** When set, `spawnProcess` resolves only after a stdout/stderr line matches. */
  readonly readyLine?: LineMatcher;
  /** Deadline for `readyLine`. Default {@link DEFAULT_READY_TIMEOUT_MS}. */
  readonly readyTimeoutMs?: number;
  /** Lines of output kept in `lines`. Default {@link DEFAULT_MAX_LINES}. */
  readonly maxLines?: number;
  /** Called for every output line (e.g. to forward it to a log). */
  readonly onLine?: (line: string, stream: OutputStream) => void;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ProcessHandle {
  readonly pid: number;
  readonly command: string;
  /** The most recent output lines (stdout and stderr interleaved), oldest first. */
  readonly lines: readonly string[];
  /** `undefined` while the process runs. */
  readonly exitStatus: ExitStatus | undefined;
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<ExitStatus>;
  /**
   * Resolves with the first line matching `matcher`, looking at the retained lines first unless
   * `includeBuffered` is false. Rejects with WaitTimeoutError or ProcessExitedError.
   */
  waitForLine(
    matcher: LineMatcher,
    timeoutMs: number,
    options?: { includeBuffered?: boolean },
  ): Promise<string>;
  /**
   * Sends `signal` (default SIGKILL) and resolves when the process has exited. Use `signal()` for
   * signals the process survives (SIGSTOP, SIGCONT, SIGHUP...).
   */
  kill(signal?: NodeJS.Signals): Promise<ExitStatus>;
  /** SIGTERM, then SIGKILL after `timeoutMs` (default {@link DEFAULT_STOP_TIMEOUT_MS}); idempotent. */
  stop(timeoutMs?: number): Promise<ExitStatus>;
  /** Sends a signal without waiting for exit (e.g. SIGSTOP/SIGCONT). */
  signal(signal: NodeJS.Signals): void;
}

/**
 * Spawns a child process whose output is captured line by line into a bounded buffer. The child is
 * SIGKILLed if the test process exits first. When `readyLine` is given, resolves only after it matched;
 * on timeout or early exit the child is killed and a typed error carries its last output lines.
 */
export async function spawnProcess(options: SpawnProcessOptions): Promise<ProcessHandle> {
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  if (!Number.isFinite(readyTimeoutMs) || readyTimeoutMs <= 0) {
    throw new InvalidOptionError("spawnProcess: readyTimeoutMs must be a positive number");
  }
  if (options.command.length === 0) {
    throw new InvalidOptionError("spawnProcess: command must not be empty");
  }
  const handle = await ManagedProcess.spawn(options);
  if (options.readyLine !== undefined) {
    try {
      await handle.waitForLine(options.readyLine, readyTimeoutMs);
    } catch (err) {
      await handle.kill("SIGKILL");
      if (err instanceof WaitTimeoutError) {
        throw new ReadyTimeoutError(err.description, err.timeoutMs, handle.pid, handle.lines);
      }
      throw err;
    }
  }
  return handle;
}

interface LineWaiter {
  readonly matcher: (line: string) => boolean;
  readonly resolve: (line: string) => void;
  readonly reject: (err: Error) => void;
  readonly description: string;
}

class ManagedProcess implements ProcessHandle {
  readonly pid: number;
  readonly command: string;
  readonly exited: Promise<ExitStatus>;
  readonly #child: ChildProcess;
  readonly #buffer: LineBuffer;
  readonly #waiters = new Set<LineWaiter>();
  #exitStatus: ExitStatus | undefined;
  #stopping: Promise<ExitStatus> | undefined;

  private constructor(child: ChildProcess, pid: number, options: SpawnProcessOptions) {
    this.#child = child;
    this.pid = pid;
    this.command = options.command;
    this.#buffer = new LineBuffer(options.maxLines ?? DEFAULT_MAX_LINES);
    const onLine = options.onLine;
    const attach = (stream: NodeJS.ReadableStream | null, name: OutputStream): Promise<void> => {
      if (stream === null) {
        return Promise.resolve();
      }
      const splitter = new LineSplitter((line) => {
        this.#onLine(line);
        onLine?.(line, name);
      });
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => splitter.write(chunk));
      return new Promise((resolve) => {
        stream.once("close", () => {
          splitter.end();
          resolve();
        });
      });
    };
    const outputs = Promise.all([attach(child.stdout, "stdout"), attach(child.stderr, "stderr")]);
    this.exited = new Promise<ExitStatus>((resolve) => {
      child.once("exit", (code, signal) => {
        // Let the pipes drain so the final lines are in the buffer before anyone sees the exit.
        void outputs.then(() => {
          const status: ExitStatus = { code, signal };
          this.#exitStatus = status;
          for (const waiter of this.#waiters) {
            waiter.reject(
              new ProcessExitedError(this.command, code, signal, waiter.description, this.#buffer.snapshot()),
            );
          }
          this.#waiters.clear();
          resolve(status);
        });
      });
    });
  }

  static spawn(options: SpawnProcessOptions): Promise<ManagedProcess> {
    return new Promise((resolve, reject) => {
      const child = spawn(options.command, [...(options.args ?? [])], {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.once("error", (err) => reject(new SpawnError(options.command, err)));
      child.once("spawn", () => {
        const pid = child.pid;
        if (pid === undefined) {
          reject(new SpawnError(options.command, new Error("no pid after spawn")));
          return;
        }
        registerChild(child);
        resolve(new ManagedProcess(child, pid, options));
      });
    });
  }

  get lines(): readonly string[] {
    return this.#buffer.snapshot();
  }

  get exitStatus(): ExitStatus | undefined {
    return this.#exitStatus;
  }

  #onLine(line: string): void {
    this.#buffer.push(line);
    for (const waiter of this.#waiters) {
      if (waiter.matcher(line)) {
        this.#waiters.delete(waiter);
        waiter.resolve(line);
      }
    }
  }

  waitForLine(
    matcher: LineMatcher,
    timeoutMs: number,
    options?: { includeBuffered?: boolean },
  ): Promise<string> {
    const test = typeof matcher === "function" ? matcher : (line: string) => matcher.test(line);
    const description = `a line matching ${typeof matcher === "function" ? "the predicate" : String(matcher)} from ${this.command}`;
    if (options?.includeBuffered !== false) {
      const found = this.#buffer.snapshot().find(test);
      if (found !== undefined) {
        return Promise.resolve(found);
      }
    }
    if (this.#exitStatus !== undefined) {
      const { code, signal } = this.#exitStatus;
      return Promise.reject(new ProcessExitedError(this.command, code, signal, description, this.lines));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new WaitTimeoutError(description, timeoutMs, undefined));
      }, timeoutMs);
      const waiter: LineWaiter = {
        matcher: test,
        description,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  signal(signal: NodeJS.Signals): void {
    if (this.#exitStatus === undefined && this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill(signal);
    }
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): Promise<ExitStatus> {
    this.signal(signal);
    return this.exited;
  }

  stop(timeoutMs: number = DEFAULT_STOP_TIMEOUT_MS): Promise<ExitStatus> {
    this.#stopping ??= (async () => {
      if (this.#exitStatus !== undefined) {
        return this.#exitStatus;
      }
      this.signal("SIGTERM");
      // A paused process cannot handle SIGTERM until it is continued.
      this.signal("SIGCONT");
      let timer: NodeJS.Timeout | undefined;
      const forced = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      const result = await Promise.race([
        this.exited.then(() => "exited" as const),
        forced.then(() => "timeout" as const),
      ]);
      clearTimeout(timer);
      if (result === "timeout") {
        this.signal("SIGKILL");
      }
      return this.exited;
    })();
    return this.#stopping;
  }
}
