// Live workers: each worker writes a record with a TTL on every Redis node and renews it (heartbeat).
// A worker is live while any answering node still has its record; the freshest record wins.

import { DEFAULT_WORKER_TTL_MS } from "@ccs/contract";
import { errorFields, type Logger, silentLogger } from "@ccs/telemetry";
import { jittered } from "./clock.ts";
import { InvalidOptionError, QuorumError } from "./errors.ts";
import type { KeySchema } from "./keys.ts";
import type { RedisNodes } from "./redis-nodes.ts";

export interface WorkerRegistration {
  readonly workerId: string;
  /** Maximum number of CCS connections (slots) this worker runs. */
  readonly capacity: number;
  readonly host: string;
  /** Where the worker serves its own status JSON. */
  readonly statusUrl: string;
}

export interface WorkerInfo extends WorkerRegistration {
  /** Wall-clock ms. */
  readonly startedAt: number;
  readonly heartbeatAt: number;
}

const WORKER_ID = /^[A-Za-z0-9_.-]{1,128}$/;

export function validateRegistration(r: WorkerRegistration): void {
  if (!WORKER_ID.test(r.workerId)) {
    throw new InvalidOptionError(`invalid worker id ${JSON.stringify(r.workerId)}`);
  }
  if (!Number.isInteger(r.capacity) || r.capacity < 0) {
    throw new InvalidOptionError(`worker capacity must be an integer >= 0 (got ${r.capacity})`);
  }
}

function parseWorker(raw: string | null): WorkerInfo | undefined {
  if (raw === null) {
    return undefined;
  }
  const w = JSON.parse(raw) as WorkerInfo;
  return typeof w.workerId === "string" && typeof w.capacity === "number" ? w : undefined;
}

export interface WorkerRegistryOptions {
  readonly nodes: RedisNodes;
  readonly keys: KeySchema;
  /** A worker is considered dead this long after its last heartbeat. Default {@link DEFAULT_WORKER_TTL_MS}. */
  readonly ttlMs?: number;
  readonly logger?: Logger;
}

export interface Heartbeat {
  /** Idempotent: stops heartbeating and removes the worker's record (its slots move at once). */
  close(): Promise<void>;
}

export class WorkerRegistry {
  readonly ttlMs: number;
  readonly #nodes: RedisNodes;
  readonly #keys: KeySchema;
  readonly #logger: Logger;

  constructor(options: WorkerRegistryOptions) {
    this.ttlMs = options.ttlMs ?? DEFAULT_WORKER_TTL_MS;
    if (!Number.isInteger(this.ttlMs) || this.ttlMs < 100) {
      throw new InvalidOptionError(`worker ttlMs must be an integer >= 100 (got ${this.ttlMs})`);
    }
    this.#nodes = options.nodes;
    this.#keys = options.keys;
    this.#logger = (options.logger ?? silentLogger).child({ component: "worker-registry" });
  }

  /**
   * Writes the worker's record with a fresh TTL on every node; succeeds when at least one node took it.
   * @throws QuorumError when no node answered.
   */
  async heartbeat(registration: WorkerRegistration, startedAt: number = Date.now()): Promise<void> {
    validateRegistration(registration);
    const now = Date.now();
    const info: WorkerInfo = {
      workerId: registration.workerId,
      capacity: registration.capacity,
      host: registration.host,
      statusUrl: registration.statusUrl,
      startedAt,
      heartbeatAt: now,
    };
    const value = JSON.stringify(info);
    const results = await this.#nodes.all((client) =>
      client
        .multi()
        .set(this.#keys.worker(info.workerId), value, "PX", this.ttlMs)
        .zadd(this.#keys.workers(), now, info.workerId)
        .exec(),
    );
    if (!results.some((r) => r.ok)) {
      throw new QuorumError(
        "worker heartbeat",
        0,
        1,
        results.map((r) => r.error),
      );
    }
  }

  /** Registers and heartbeats every ttlMs / 3 until `close()`. The first heartbeat is awaited. */
  async register(registration: WorkerRegistration): Promise<Heartbeat> {
    const startedAt = Date.now();
    await this.heartbeat(registration, startedAt);
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    let inFlight: Promise<void> = Promise.resolve();
    const beat = (): void => {
      timer = setTimeout(
        () => {
          inFlight = this.heartbeat(registration, startedAt)
            .catch((error: unknown) =>
              this.#logger.warn(
                { workerId: registration.workerId, ...errorFields(error) },
                "heartbeat failed",
              ),
            )
            .finally(() => {
              if (!closed) {
                beat();
              }
            });
        },
        jittered(this.ttlMs / 3, 0.1),
      );
      timer.unref();
    };
    beat();
    let closing: Promise<void> | undefined;
    return {
      close: () => {
        closing ??= (async () => {
          closed = true;
          clearTimeout(timer);
          await inFlight;
          await this.deregister(registration.workerId);
        })();
        return closing;
      },
    };
  }

  /** Removes a worker's record on every answering node. */
  async deregister(workerId: string): Promise<void> {
    await this.#nodes.all((client) =>
      client.multi().del(this.#keys.worker(workerId)).zrem(this.#keys.workers(), workerId).exec(),
    );
  }

  /** Live workers sorted by id (freshest record per worker across the answering nodes). */
  async list(): Promise<WorkerInfo[]> {
    const staleBefore = Date.now() - 2 * this.ttlMs;
    const results = await this.#nodes.all(async (client) => {
      const ids = await client.zrange(this.#keys.workers(), "0", "-1");
      if (ids.length === 0) {
        return [];
      }
      const raws = await client.mget(ids.map((id) => this.#keys.worker(id)));
      // Index entries far older than the TTL whose record is gone: prune (a concurrent heartbeat re-adds).
      await client.zremrangebyscore(this.#keys.workers(), "-inf", String(staleBefore));
      return raws.map(parseWorker).filter((w): w is WorkerInfo => w !== undefined);
    });
    if (!results.some((r) => r.ok)) {
      throw new QuorumError(
        "list workers",
        0,
        1,
        results.map((r) => r.error),
      );
    }
    const byId = new Map<string, WorkerInfo>();
    for (const r of results) {
      for (const w of r.value ?? []) {
        const known = byId.get(w.workerId);
        if (known === undefined || w.heartbeatAt > known.heartbeatAt) {
          byId.set(w.workerId, w);
        }
      }
    }
    return [...byId.values()].sort((a, b) =>
      a.workerId < b.workerId ? -1 : a.workerId > b.workerId ? 1 : 0,
    );
  }
}
