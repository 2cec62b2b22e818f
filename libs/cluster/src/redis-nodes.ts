// N independent Redis nodes (one locally, an odd number >= 3 for a quorum in production) and the
// majority/any/all helpers every quorum operation in this library is built on.

import { errorFields, type Logger, redactUrlCredentials, silentLogger } from "@ccs/telemetry";
import { Redis } from "ioredis";
import { InvalidOptionError, QuorumError } from "./errors.ts";

/** Per-command deadline: a frozen (SIGSTOP) or partitioned node must fail fast, not hang a renewal. */
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 1_000;

/** `url` with any password replaced, for logs (a Redis URL may carry `redis://:password@host`). */
export interface RedisNodesOptions {
  /** `redis://host:port` URLs of independent Redis servers (not replicas of each other). */
  readonly urls: readonly string[];
  /** Default {@link DEFAULT_REDIS_COMMAND_TIMEOUT_MS}. Keep it well below a third of the lease TTL. */
  readonly commandTimeoutMs?: number;
  /** Client name shown by CLIENT LIST. */
  readonly connectionName?: string;
  /** Connection errors are logged at debug level (they also surface as failed commands). */
  readonly logger?: Logger;
}

export interface NodeOutcome<T> {
  readonly node: number;
  readonly ok: boolean;
  readonly value?: T;
  readonly error?: unknown;
}

export class RedisNodes {
  readonly clients: readonly Redis[];
  readonly urls: readonly string[];
  /** floor(n/2) + 1. */
  readonly quorum: number;
  readonly #options: {
    readonly commandTimeoutMs: number;
    readonly connectionName: string | undefined;
    readonly logger: Logger;
  };
  #closing: Promise<void> | undefined;

  constructor(options: RedisNodesOptions) {
    if (options.urls.length === 0) {
      throw new InvalidOptionError("RedisNodes: at least one Redis URL is required");
    }
    const commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_REDIS_COMMAND_TIMEOUT_MS;
    if (!Number.isInteger(commandTimeoutMs) || commandTimeoutMs <= 0) {
      throw new InvalidOptionError(
        `RedisNodes: commandTimeoutMs must be a positive integer (got ${commandTimeoutMs})`,
      );
    }
    this.#options = {
      commandTimeoutMs,
      connectionName: options.connectionName,
      logger: (options.logger ?? silentLogger).child({ component: "redis-nodes" }),
    };
    this.urls = [...options.urls];
    this.quorum = Math.floor(options.urls.length / 2) + 1;
    this.clients = this.urls.map((url) => this.createClient(url));
  }

  get size(): number {
    return this.clients.length;
  }

  /**
   * A new client for `url` with fail-fast settings: every command (also one queued while the client is
   * (re)connecting) fails after the command deadline, no per-request retries; it reconnects on its own
   * with capped backoff and replays subscriptions.
   */
  createClient(url: string): Redis {
    const client = new Redis(url, {
      commandTimeout: this.#options.commandTimeoutMs,
      connectTimeout: Math.max(this.#options.commandTimeoutMs, 1_000),
      enableOfflineQueue: true,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
      ...(this.#options.connectionName !== undefined ? { connectionName: this.#options.connectionName } : {}),
    });
    // Connection errors surface as command failures (quorum logic decides); without a listener an
    // 'error' event would crash the process. Logged at debug: ioredis repeats them on every retry.
    client.on("error", (error: unknown) =>
      this.#options.logger.debug(
        { url: redactUrlCredentials(url), ...errorFields(error) },
        "redis connection error",
      ),
    );
    return client;
  }

  /** Runs `fn` on every node and waits for all outcomes. */
  async all<T>(fn: (client: Redis, node: number) => Promise<T>): Promise<NodeOutcome<T>[]> {
    const settled = await Promise.allSettled(this.clients.map((c, i) => fn(c, i)));
    return settled.map((s, node) =>
      s.status === "fulfilled" ? { node, ok: true, value: s.value } : { node, ok: false, error: s.reason },
    );
  }

  /**
   * Runs `fn` on every node; resolves with the successful values as soon as a majority succeeded, or
   * rejects with QuorumError as soon as a majority is out of reach.
   */
  majority<T>(operation: string, fn: (client: Redis, node: number) => Promise<T>): Promise<T[]> {
    return new Promise((resolve, reject) => {
      const values: T[] = [];
      const errors: unknown[] = [];
      let settled = false;
      const n = this.clients.length;
      this.clients.forEach((client, node) => {
        fn(client, node).then(
          (value) => {
            values.push(value);
            if (!settled && values.length >= this.quorum) {
              settled = true;
              resolve(values.slice());
            }
          },
          (error: unknown) => {
            errors.push(error);
            if (!settled && n - errors.length < this.quorum) {
              settled = true;
              reject(new QuorumError(operation, values.length, this.quorum, errors));
            }
          },
        );
      });
    });
  }

  /** Idempotent: disconnects every client. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.allSettled(this.clients.map((c) => c.quit().catch(() => c.disconnect())));
    })();
    return this.#closing;
  }
}
