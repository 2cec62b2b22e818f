import { rm } from "node:fs/promises";
import { registerTempDir, releaseTempDir } from "./child-registry.ts";
import { IllegalStateError, PortInUseError } from "./errors.ts";
import { isPortFree } from "./free-port.ts";
import { type ProcessHandle, spawnProcess } from "./process.ts";
import type { ServerBackend } from "./server-handle.ts";

/** Grace period between SIGTERM and SIGKILL when a local server is stopped. */
export const DEFAULT_LOCAL_STOP_TIMEOUT_MS = 5_000;

export interface LocalBackendOptions {
  readonly binary: string;
  readonly args: readonly string[];
  readonly host: string;
  readonly port: number;
  /** The server's data dir (for diagnostics and tests). */
  readonly dataDir: string | undefined;
  /** Directories created for this server and removed by `cleanup()`. */
  readonly ownedDirs: readonly string[];
  readonly maxLines?: number;
}

/** Runs a server as a local child process; each `launch()` spawns it again with the same arguments. */
export class LocalBackend implements ServerBackend {
  readonly mode = "local" as const;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string | undefined;
  readonly #options: LocalBackendOptions;
  #process: ProcessHandle | undefined;

  constructor(options: LocalBackendOptions) {
    this.#options = options;
    this.host = options.host;
    this.port = options.port;
    this.dataDir = options.dataDir;
    for (const dir of options.ownedDirs) {
      registerTempDir(dir);
    }
  }

  /** Pid of the current run, if any (for tests that check the process is gone). */
  get pid(): number | undefined {
    return this.#process?.pid;
  }

  #alive(): ProcessHandle | undefined {
    const proc = this.#process;
    return proc !== undefined && proc.exitStatus === undefined ? proc : undefined;
  }

  async launch(): Promise<void> {
    if (this.#alive() !== undefined) {
      throw new IllegalStateError("launch local server", "already running");
    }
    // Otherwise the readiness probe could be answered by whoever holds the port.
    if (!(await isPortFree(this.port, this.host))) {
      throw new PortInUseError(this.host, this.port);
    }
    const options: Parameters<typeof spawnProcess>[0] = {
      command: this.#options.binary,
      args: this.#options.args,
      ...(this.#options.maxLines !== undefined ? { maxLines: this.#options.maxLines } : {}),
    };
    this.#process = await spawnProcess(options);
  }

  exitedRun(): Promise<void> | undefined {
    return this.#process?.exited.then(() => undefined);
  }

  async terminate(): Promise<void> {
    await this.#alive()?.stop(DEFAULT_LOCAL_STOP_TIMEOUT_MS);
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    const proc = this.#alive();
    if (proc === undefined) {
      return;
    }
    if (signal !== "SIGKILL") {
      // A frozen process only acts on the signal once continued.
      proc.signal(signal);
      proc.signal("SIGCONT");
    }
    await proc.kill(signal);
  }

  async pause(): Promise<void> {
    this.#require("pause").signal("SIGSTOP");
  }

  async resume(): Promise<void> {
    this.#require("resume").signal("SIGCONT");
  }

  async output(): Promise<readonly string[]> {
    return this.#process?.lines ?? [];
  }

  async cleanup(): Promise<void> {
    await this.#alive()?.kill("SIGKILL");
    await Promise.all(
      this.#options.ownedDirs.map(async (dir) => {
        await rm(dir, { recursive: true, force: true });
        releaseTempDir(dir);
      }),
    );
  }

  #require(operation: string): ProcessHandle {
    const proc = this.#alive();
    if (proc === undefined) {
      throw new IllegalStateError(`${operation} local server`, "not running");
    }
    return proc;
  }
}
