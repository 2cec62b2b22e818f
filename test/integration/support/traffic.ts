// Downstream traffic (JetStream publishes to ccs.down.<sender>) and the checks every fault test ends
// with: exactly one outcome per message in CCS_OUTCOMES, and the emulator's ledgers.

import { waitFor } from "@ccs/testkit";
import { type JetStreamClient, type JsMsg, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { EmulatorAdmin } from "./emulator-admin.ts";

export const OUTCOMES_STREAM = "CCS_OUTCOMES";
export const DOWN_STREAM = "CCS_DOWN";

export interface Outcome {
  readonly v: number;
  readonly message_id: string;
  readonly sender_id: string;
  readonly to: string | null;
  readonly status: "acked" | "nacked" | "rejected" | "expired";
  readonly code?: string;
  readonly attempts?: number;
  readonly deliveries?: number;
  readonly first_sent_at?: string;
  readonly completed_at?: string;
  readonly connection_id?: string;
  readonly worker_id?: string;
  /** Coordinated mode: the cluster slot (`<senderId>:<index>`) and the owner's fencing token. */
  readonly slot?: string;
  readonly fencing_token?: number;
}

export async function connectNats(url: string): Promise<NatsConnection> {
  return connect({ servers: [url], name: "ccs-integration-test", maxReconnectAttempts: -1 });
}

/** A well-formed device token for message `i` (spread over `devices` devices). */
export function deviceToken(i: number, devices = 64): string {
  return `it-device-${i % devices}:APA91b_test`;
}

export interface PublishOptions {
  readonly senderId: string;
  /** Unique prefix of the message ids of this batch. */
  readonly prefix: string;
  readonly count: number;
  /** Publishes in flight at once. Default 256. */
  readonly concurrency?: number;
  /** Extra fields of each request. */
  readonly extra?: (i: number) => Record<string, unknown>;
  readonly devices?: number;
  /** Called after each acknowledged publish (e.g. to trigger a fault mid-flight). */
  readonly onPublished?: (done: number) => void | Promise<void>;
  /** Spread the publishes over about this long (rough pacing). Default: as fast as possible. */
  readonly durationMs?: number;
}

/** Publishes `count` requests with ids `<prefix>-<i>` and msgID = message_id; resolves with the ids. */
export async function publishDownstream(js: JetStreamClient, o: PublishOptions): Promise<string[]> {
  const ids = Array.from({ length: o.count }, (_, i) => `${o.prefix}-${i}`);
  const concurrency = o.concurrency ?? 256;
  const start = Date.now();
  let next = 0;
  let done = 0;
  const subject = `ccs.down.${o.senderId}`;
  const lane = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= ids.length) return;
      if (o.durationMs !== undefined) {
        const due = start + (o.durationMs * i) / ids.length;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      const id = ids[i] as string;
      const body = { to: deviceToken(i, o.devices), message_id: id, data: { i: String(i) }, ...o.extra?.(i) };
      await publishWithRetry(js, subject, JSON.stringify(body), id);
      done++;
      await o.onPublished?.(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, () => lane()));
  return ids;
}

async function publishWithRetry(
  js: JetStreamClient,
  subject: string,
  body: string,
  msgID: string,
): Promise<void> {
  let lastErr: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await js.publish(subject, body, { msgID, timeout: 10_000 });
      return;
    } catch (err) {
      lastErr = err; // same msgID: a retry after a lost ack is de-duplicated by JetStream
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
  }
  throw new Error(`publish of ${msgID} failed: ${String(lastErr)}`);
}

/**
 * Reads an outcome stream (`ccs.out.<sender>`) from the start with an ordered consumer and keeps every
 * outcome; counts are per message_id, so duplicates within the stream show up.
 */
export class OutcomeCollector {
  readonly counts = new Map<string, number>();
  readonly outcomes = new Map<string, Outcome[]>();
  #stop: (() => Promise<void>) | undefined;
  #malformed = 0;

  static async start(nc: NatsConnection, senderId: string): Promise<OutcomeCollector> {
    const c = new OutcomeCollector();
    const js = jetstream(nc);
    const consumer = await js.consumers.get(OUTCOMES_STREAM, { filter_subjects: `ccs.out.${senderId}` });
    const messages = await consumer.consume();
    const loop = (async () => {
      for await (const m of messages) c.#add(m);
    })();
    c.#stop = async () => {
      await messages.close();
      await loop.catch(() => undefined);
    };
    return c;
  }

  #add(m: JsMsg): void {
    let o: Outcome;
    try {
      o = m.json<Outcome>();
    } catch {
      this.#malformed++;
      return;
    }
    this.counts.set(o.message_id, (this.counts.get(o.message_id) ?? 0) + 1);
    const list = this.outcomes.get(o.message_id);
    if (list === undefined) this.outcomes.set(o.message_id, [o]);
    else list.push(o);
  }

  get malformed(): number {
    return this.#malformed;
  }

  missing(ids: readonly string[]): string[] {
    return ids.filter((id) => !this.counts.has(id));
  }

  /** Waits until every id has an outcome; throws with the missing ones after `timeoutMs`. */
  async waitForAll(ids: readonly string[], timeoutMs: number): Promise<void> {
    try {
      await waitFor(() => this.missing(ids).length === 0, {
        timeoutMs,
        intervalMs: 100,
        description: `outcomes for ${ids.length} messages`,
      });
    } catch (err) {
      const missing = this.missing(ids);
      throw new Error(
        `${missing.length} of ${ids.length} messages have no outcome after ${timeoutMs} ms (e.g. ${missing.slice(0, 5).join(", ")})`,
        { cause: err },
      );
    }
  }

  /** The report the tests assert on: missing ids, ids with >1 outcome, and statuses other than acked. */
  report(ids: readonly string[]): OutcomeReport {
    const missing: string[] = [];
    const duplicated: Record<string, number> = {};
    const notAcked: Record<string, string> = {};
    for (const id of ids) {
      const n = this.counts.get(id) ?? 0;
      if (n === 0) missing.push(id);
      if (n > 1) duplicated[id] = n;
      const first = this.outcomes.get(id)?.[0];
      if (first !== undefined && first.status !== "acked") {
        notAcked[id] = `${first.status}${first.code === undefined ? "" : `:${first.code}`}`;
      }
    }
    const known = new Set(ids);
    const unexpected = [...this.counts.keys()].filter((id) => !known.has(id));
    return { total: ids.length, missing, duplicated, notAcked, unexpected, malformed: this.#malformed };
  }

  byWorker(ids: readonly string[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const id of ids) {
      const w = this.outcomes.get(id)?.[0]?.worker_id ?? "?";
      out[w] = (out[w] ?? 0) + 1;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.#stop?.();
  }
}

export interface OutcomeReport {
  readonly total: number;
  readonly missing: string[];
  readonly duplicated: Record<string, number>;
  readonly notAcked: Record<string, string>;
  readonly unexpected: string[];
  readonly malformed: number;
}

/** Throws with a readable summary unless every id has exactly one outcome (and, by default, `acked`). */
export function assertExactlyOneOutcomeEach(
  collector: OutcomeCollector,
  ids: readonly string[],
  options: { requireAcked?: boolean } = {},
): OutcomeReport {
  const r = collector.report(ids);
  const problems: string[] = [];
  if (r.missing.length > 0)
    problems.push(`${r.missing.length} missing (e.g. ${r.missing.slice(0, 5).join(", ")})`);
  const dups = Object.entries(r.duplicated);
  if (dups.length > 0)
    problems.push(`${dups.length} with >1 outcome (e.g. ${JSON.stringify(dups.slice(0, 5))})`);
  const notAcked = Object.entries(r.notAcked);
  if ((options.requireAcked ?? true) && notAcked.length > 0) {
    problems.push(`${notAcked.length} not acked (e.g. ${JSON.stringify(notAcked.slice(0, 5))})`);
  }
  if (r.malformed > 0) problems.push(`${r.malformed} malformed outcomes`);
  if (problems.length > 0)
    throw new Error(`outcome check failed for ${ids.length} messages: ${problems.join("; ")}`);
  return r;
}

/**
 * Waits until the downstream consumer of `senderId` has nothing pending or unacknowledged, so late
 * duplicates (a redelivery after an ack was lost) would already be visible in the outcome stream.
 */
export async function waitDownstreamSettled(
  nc: NatsConnection,
  senderId: string,
  timeoutMs: number,
): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await waitFor(
    async () => {
      const info = await jsm.consumers.info(DOWN_STREAM, `ccs-worker-${senderId}`);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    { timeoutMs, intervalMs: 200, description: `consumer ccs-worker-${senderId} settled` },
  );
}

export interface LedgerReport {
  readonly notDelivered: string[];
  readonly duplicateArrivals: number;
  readonly maxArrivals: number;
}

/** Every id arrived at a device at least once; reports arrivals beyond the first. */
export async function ledgerReport(
  admin: EmulatorAdmin,
  senderId: string,
  ids: readonly string[],
): Promise<LedgerReport> {
  const ledger = await admin.ledger({ messageIds: true });
  const arrivals = ledger.messageIds ?? {};
  const notDelivered: string[] = [];
  let duplicateArrivals = 0;
  let maxArrivals = 0;
  for (const id of ids) {
    const n = arrivals[`${senderId}:${id}`] ?? 0;
    if (n === 0) notDelivered.push(id);
    else duplicateArrivals += n - 1;
    maxArrivals = Math.max(maxArrivals, n);
  }
  return { notDelivered, duplicateArrivals, maxArrivals };
}

/** Throws unless every id reached its device and duplicates stay within `maxDuplicates`. */
export async function assertLedger(
  admin: EmulatorAdmin,
  senderId: string,
  ids: readonly string[],
  maxDuplicates: number,
): Promise<LedgerReport> {
  const r = await ledgerReport(admin, senderId, ids);
  const problems: string[] = [];
  if (r.notDelivered.length > 0) {
    problems.push(
      `${r.notDelivered.length} never reached a device (e.g. ${r.notDelivered.slice(0, 5).join(", ")})`,
    );
  }
  if (r.duplicateArrivals > maxDuplicates) {
    problems.push(`${r.duplicateArrivals} duplicate arrivals > bound ${maxDuplicates}`);
  }
  if (problems.length > 0) throw new Error(`ledger check failed: ${problems.join("; ")}`);
  return r;
}

/** The emulator saw no connection exceed its pending window (the worker's flow control held). */
export async function assertNoPendingViolations(admin: EmulatorAdmin): Promise<void> {
  const stats = await admin.stats();
  if (stats.counters.pendingViolations !== 0) {
    const bad = stats.connections
      .filter((c) => c.pendingViolations > 0)
      .map((c) => `${c.id}:${c.pendingViolations}`);
    throw new Error(
      `emulator counted ${stats.counters.pendingViolations} pending-window violations (${bad.join(", ")})`,
    );
  }
}

export interface Arrival {
  readonly token: string;
  readonly messageId: string;
  readonly count: number;
  readonly firstAt: number;
  readonly lastAt: number;
}

/** Ledger entries of the traffic devices (deviceToken(0..devices-1)) that got an arrival at or after `sinceMs`. */
export async function arrivalsSince(admin: EmulatorAdmin, sinceMs: number, devices = 64): Promise<Arrival[]> {
  const out: Arrival[] = [];
  for (let d = 0; d < devices; d++) {
    const token = deviceToken(d, devices);
    const detail = await admin.device(token).catch(() => undefined);
    for (const e of detail?.ledger ?? []) {
      if (e.lastAt >= sinceMs) {
        out.push({ token, messageId: e.messageId, count: e.count, firstAt: e.firstAt, lastAt: e.lastAt });
      }
    }
  }
  return out;
}
