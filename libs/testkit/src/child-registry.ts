import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";

/**
 * Every child the test kit spawns is registered here until it exits, so that no child outlives the
 * test process: on process 'exit', and on SIGTERM/SIGHUP (how test runners and supervisors end a
 * process), each live child gets SIGKILL. SIGINT is left alone: Ctrl-C reaches the whole foreground
 * process group, children included, and scripts may want to handle it gracefully themselves.
 */
const live = new Set<ChildProcess>();
/** Temp dirs owned by live servers; removed on exit if nobody disposed them. */
const tempDirs = new Set<string>();
let installed = false;

const CLEANUP_SIGNALS: readonly NodeJS.Signals[] = ["SIGTERM", "SIGHUP"];

export function registerChild(child: ChildProcess): void {
  install();
  live.add(child);
  child.once("exit", () => live.delete(child));
}

/** Registers a temp dir to remove at process exit unless {@link releaseTempDir} is called first. */
export function registerTempDir(dir: string): void {
  install();
  tempDirs.add(dir);
}

export function releaseTempDir(dir: string): void {
  tempDirs.delete(dir);
}

/** Number of registered children still running (for diagnostics and tests). */
export function liveChildCount(): number {
  return live.size;
}

function killAll(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill("SIGKILL");
      } catch {
        // The child is already gone; nothing left to clean up on this path.
      }
    }
  }
  live.clear();
}

function cleanupOnExit(): void {
  killAll();
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // Best effort at exit: there is no caller left to report to.
    }
  }
  tempDirs.clear();
}

/**
 * Runs before any other listener (prepended) and removes itself, so listeners that decide whether the
 * process should die by counting listeners (e.g. signal-exit, loaded by testcontainers) see the same
 * picture as without us. When nobody else handles the signal, it is re-raised with the default action.
 */
function onSignal(signal: NodeJS.Signals): void {
  cleanupOnExit();
  uninstallSignals();
  if (process.listenerCount(signal) === 0) {
    process.kill(process.pid, signal);
  }
}

function uninstallSignals(): void {
  for (const signal of CLEANUP_SIGNALS) {
    process.removeListener(signal, onSignal);
  }
  installed = false;
}

function install(): void {
  if (installed) {
    return;
  }
  installed = true;
  process.removeListener("exit", cleanupOnExit);
  process.once("exit", cleanupOnExit);
  for (const signal of CLEANUP_SIGNALS) {
    process.prependListener(signal, onSignal);
  }
}
