// The live sender list: a senders file (re-read on fs.watch events and periodically, since watch events
// can be missed on some filesystems and for atomically replaced files) merged with senders given
// inline (environment). An invalid file keeps the last good list and is reported, never applied.

import { EventEmitter } from "node:events";
import { type FSWatcher, watch } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { errorFields, type Logger, silentLogger } from "@ccs/telemetry";
import { IllegalStateError } from "./errors.ts";
import { loadSendersFile, mergeSenders, type SenderConfig, sendersDiffer } from "./senders.ts";

export const DEFAULT_SENDERS_RELOAD_INTERVAL_MS = 10_000;
const WATCH_DEBOUNCE_MS = 100;

export interface SendersSourceOptions {
  /** Senders file; optional when every sender comes from `inline`. */
  readonly file?: string;
  /** Senders from the environment (fixed for the process lifetime). */
  readonly inline?: readonly SenderConfig[];
  readonly env?: NodeJS.ProcessEnv;
  /** Periodic re-read. Default {@link DEFAULT_SENDERS_RELOAD_INTERVAL_MS}. */
  readonly reloadIntervalMs?: number;
  readonly logger?: Logger;
}

export interface SendersSourceEvents {
  change: [senders: readonly SenderConfig[]];
  /** A reload failed; the previous list stays in force. */
  invalid: [error: Error];
}

/** "idle" → start() → "watching" → close() → "closed". */
export type SendersSourceState = "idle" | "watching" | "closed";

export class SendersSource extends EventEmitter<SendersSourceEvents> {
  readonly file: string | undefined;
  readonly #inline: readonly SenderConfig[];
  readonly #env: NodeJS.ProcessEnv | undefined;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  #state: SendersSourceState = "idle";
  #current: readonly SenderConfig[] = [];
  #lastError: Error | undefined;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #reloading: Promise<void> | undefined;
  #reloadAgain = false;

  constructor(options: SendersSourceOptions) {
    super();
    this.file = options.file === undefined ? undefined : resolve(options.file);
    this.#inline = options.inline ?? [];
    this.#env = options.env;
    this.#intervalMs = options.reloadIntervalMs ?? DEFAULT_SENDERS_RELOAD_INTERVAL_MS;
    this.#logger = (options.logger ?? silentLogger).child({ component: "senders-source" });
  }

  get state(): SendersSourceState {
    return this.#state;
  }

  current(): readonly SenderConfig[] {
    return this.#current;
  }

  /** The error of the last failed reload, cleared by a successful one. */
  get lastError(): Error | undefined {
    return this.#lastError;
  }

  #setState(next: SendersSourceState, reason: string): void {
    this.#logger.debug({ from: this.#state, to: next, reason }, "senders source state");
    this.#state = next;
  }

  async #load(): Promise<SenderConfig[]> {
    const fromFile =
      this.file === undefined
        ? []
        : await loadSendersFile(this.file, this.#env !== undefined ? { env: this.#env } : {});
    return mergeSenders(fromFile, this.#inline);
  }

  /** Loads once (throws when the initial configuration is invalid), then watches. */
  async start(): Promise<readonly SenderConfig[]> {
    if (this.#state !== "idle") {
      throw new IllegalStateError("start senders source", this.#state);
    }
    this.#current = await this.#load();
    this.#setState("watching", "start()");
    const file = this.file;
    if (file !== undefined) {
      try {
        // Watch the directory: editors and config managers replace the file (rename), which ends a file watch.
        this.#watcher = watch(dirname(file), { persistent: false }, (_event, name) => {
          if (name === null || name === basename(file)) {
            clearTimeout(this.#debounce);
            this.#debounce = setTimeout(() => void this.reload(), WATCH_DEBOUNCE_MS);
            this.#debounce.unref();
          }
        });
        this.#watcher.on("error", (error) =>
          this.#logger.warn(errorFields(error), "senders file watch failed; periodic re-read continues"),
        );
      } catch (error) {
        this.#logger.warn(errorFields(error), "cannot watch senders file; periodic re-read only");
      }
      this.#timer = setInterval(() => void this.reload(), this.#intervalMs);
      this.#timer.unref();
    }
    return this.#current;
  }

  /** Re-reads now; emits `change` when anything differs. Concurrent calls coalesce. */
  reload(): Promise<void> {
    if (this.#state !== "watching") {
      return Promise.resolve();
    }
    if (this.#reloading !== undefined) {
      this.#reloadAgain = true;
      return this.#reloading;
    }
    this.#reloading = (async () => {
      do {
        this.#reloadAgain = false;
        try {
          const next = await this.#load();
          this.#lastError = undefined;
          if (this.#state === "watching" && sendersDiffer(this.#current, next)) {
            this.#current = next;
            this.#logger.info({ senders: next.map((s) => s.senderId) }, "senders changed");
            this.emit("change", next);
          }
        } catch (error) {
          const err = error instanceof Error ? error : new Error(String(error));
          this.#lastError = err;
          this.#logger.error(errorFields(err), "senders reload failed; keeping the previous senders");
          this.emit("invalid", err);
        }
      } while (this.#reloadAgain);
    })().finally(() => {
      this.#reloading = undefined;
    });
    return this.#reloading;
  }

  /** Idempotent. */
  async close(): Promise<void> {
    if (this.#state === "closed") {
      return;
    }
    this.#setState("closed", "close()");
    this.#watcher?.close();
    clearInterval(this.#timer);
    clearTimeout(this.#debounce);
    await this.#reloading;
  }
}
