// The desired assignment (slot → worker) written by the leader and watched by workers, kept in Redis on
// every node. Writes are fenced: a node accepts a write only when its token is >= both the token of the
// stored assignment and the node's leader fencing counter (raised by every newly elected leader), so a
// deposed leader's write is rejected by a majority even before the new leader wrote anything.
// Watchers learn of changes through Redis pub/sub (published by the write script) and poll as a fallback.

import { errorFields, type Logger, redactUrlCredentials, silentLogger } from "@ccs/telemetry";
import type { Redis } from "ioredis";
import { InvalidOptionError, QuorumError, StaleFencingTokenError } from "./errors.ts";
import type { KeySchema } from "./keys.ts";
import type { RedisNodes } from "./redis-nodes.ts";
import type { SlotId } from "./slots.ts";

export const DEFAULT_ASSIGNMENT_POLL_INTERVAL_MS = 2_000;

export interface AssignedSender {
  readonly senderId: string;
  readonly connections: number;
}

/** What the leader publishes. API keys are never part of it. */
export interface Assignment {
  /** Leader fencing token of the writer. */
  readonly token: number;
  /** Increases with every write; (token, version) orders assignments. */
  readonly version: number;
  readonly leaderId: string;
  /** Wall-clock ms of the write (display only). */
  readonly writtenAt: number;
  readonly senders: readonly AssignedSender[];
  /** slot → worker id; slots missing here are unassigned (no live capacity). */
  readonly slots: Readonly<Record<SlotId, string>>;
}

/** Returns 1 written, 0 same (token, version) already stored, -1 stale token, -2 stale version. */
const WRITE_SCRIPT = `
local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
local token = tonumber(redis.call('HGET', KEYS[1], 'token') or '0')
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
local nt = tonumber(ARGV[1])
local nv = tonumber(ARGV[2])
if nt < fence or nt < token then return -1 end
if nt == token and nv == version then return 0 end
if nt == token and nv < version then return -2 end
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'version', ARGV[2], 'doc', ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[1] .. ':' .. ARGV[2])
return 1
`;

export function compareAssignments(
  a: Pick<Assignment, "token" | "version">,
  b: Pick<Assignment, "token" | "version">,
): number {
  return a.token !== b.token ? a.token - b.token : a.version - b.version;
}

function parseDoc(raw: Record<string, string>): Assignment | undefined {
  const doc = raw.doc;
  if (doc === undefined) {
    return undefined;
  }
  const parsed = JSON.parse(doc) as Assignment;
  if (
    typeof parsed.token !== "number" ||
    typeof parsed.version !== "number" ||
    typeof parsed.slots !== "object"
  ) {
    throw new InvalidOptionError("stored assignment is malformed");
  }
  return parsed;
}

export interface AssignmentStoreOptions {
  readonly nodes: RedisNodes;
  readonly keys: KeySchema;
  readonly logger?: Logger;
}

export interface AssignmentWatch {
  /** Idempotent. */
  close(): Promise<void>;
}

export class AssignmentStore {
  readonly #nodes: RedisNodes;
  readonly #keys: KeySchema;
  readonly #logger: Logger;

  constructor(options: AssignmentStoreOptions) {
    this.#nodes = options.nodes;
    this.#keys = options.keys;
    this.#logger = (options.logger ?? silentLogger).child({ component: "assignment-store" });
  }

  /**
   * Writes `assignment` (its `token` is the writer's leader fencing token) on a majority of nodes.
   * @throws StaleFencingTokenError when a majority rejected the token (a newer leader exists), QuorumError.
   */
  async write(assignment: Assignment): Promise<void> {
    const doc = JSON.stringify(assignment);
    const results = await this.#nodes.all(async (client) =>
      Number(
        await client.eval(
          WRITE_SCRIPT,
          2,
          this.#keys.assignment(),
          this.#keys.leaderFence(),
          String(assignment.token),
          String(assignment.version),
          doc,
          this.#keys.assignmentChannel(),
        ),
      ),
    );
    const accepted = results.filter((r) => r.ok && (r.value === 1 || r.value === 0)).length;
    if (accepted >= this.#nodes.quorum) {
      return;
    }
    const stale = results.filter((r) => r.ok && r.value === -1).length;
    if (stale > 0) {
      throw new StaleFencingTokenError("write assignment", assignment.token);
    }
    throw new QuorumError(
      "write assignment",
      accepted,
      this.#nodes.quorum,
      results.flatMap((r) => (r.ok ? [] : [r.error])),
    );
  }

  /** The newest assignment any answering node holds; undefined when none holds one. */
  async read(): Promise<Assignment | undefined> {
    const results = await this.#nodes.all(async (client) =>
      parseDoc(await client.hgetall(this.#keys.assignment())),
    );
    let best: Assignment | undefined;
    let failures = 0;
    for (const r of results) {
      if (!r.ok) {
        failures++;
        continue;
      }
      if (r.value !== undefined && (best === undefined || compareAssignments(r.value, best) > 0)) {
        best = r.value;
      }
    }
    if (failures === results.length) {
      throw new QuorumError(
        "read assignment",
        0,
        this.#nodes.quorum,
        results.map((r) => r.error),
      );
    }
    return best;
  }

  /**
   * Calls `onChange` with every newer assignment seen (never an older one), starting with the current one.
   * Driven by pub/sub on every node, with polling every `pollIntervalMs` as a fallback.
   */
  watch(
    onChange: (assignment: Assignment) => void,
    options: { readonly pollIntervalMs?: number } = {},
  ): AssignmentWatch {
    const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_ASSIGNMENT_POLL_INTERVAL_MS;
    let latest: Assignment | undefined;
    let closed = false;
    let reading: Promise<void> | undefined;
    let again = false;
    const refresh = (): void => {
      if (closed) {
        return;
      }
      if (reading !== undefined) {
        again = true;
        return;
      }
      reading = (async () => {
        do {
          again = false;
          try {
            const next = await this.read();
            if (
              !closed &&
              next !== undefined &&
              (latest === undefined || compareAssignments(next, latest) > 0)
            ) {
              latest = next;
              onChange(next);
            }
          } catch (error) {
            this.#logger.warn(errorFields(error), "reading assignment failed");
          }
        } while (again && !closed);
      })().finally(() => {
        reading = undefined;
      });
    };
    const subscribers: Redis[] = this.#nodes.urls.map((url) => {
      const sub = this.#nodes.createClient(url);
      sub.on("message", () => refresh());
      sub.subscribe(this.#keys.assignmentChannel()).catch((error: unknown) => {
        this.#logger.warn(
          { url: redactUrlCredentials(url), ...errorFields(error) },
          "assignment subscribe failed; polling covers it",
        );
      });
      return sub;
    });
    const timer = setInterval(refresh, pollIntervalMs);
    timer.unref();
    refresh();
    let closing: Promise<void> | undefined;
    return {
      close: () => {
        closing ??= (async () => {
          closed = true;
          clearInterval(timer);
          await Promise.allSettled(subscribers.map((s) => s.quit().catch(() => s.disconnect())));
          await reading;
        })();
        return closing;
      },
    };
  }
}
