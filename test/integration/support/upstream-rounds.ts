// Rounds of mixed traffic for the upstream fault scenarios: downstream messages (every tenth asks for a
// delivery receipt) and device upstream messages through the emulator's admin API, each round with its
// own ids, and the checks that every message got exactly one outcome and every upstream message and
// receipt was published exactly once, with nothing left un-ACKed or waiting in the emulator.

import { waitFor } from "@ccs/testkit";
import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import { DEMO_SENDER_ID, TIMINGS } from "./cluster.ts";
import type { EmulatorAdmin, StatsView } from "./emulator-admin.ts";
import type { Scenario } from "./scenario.ts";
import { assertExactlyOneOutcomeEach, type OutcomeCollector, publishDownstream } from "./traffic.ts";
import { KeyedStreamCollector, RECEIPT_STREAM, receiptKey, UP_STREAM, upstreamKey } from "./upstream.ts";

const CATEGORY = "com.example.faults";
const UP_DEVICES = 5;
const RECEIPT_EVERY = 10;

function upDevice(d: number): string {
  return `fault-up-${d}:APA91b_faults`;
}

export interface RoundTraffic {
  readonly downstreamIds: string[];
  readonly receiptIds: string[];
  readonly upstreamKeys: string[];
}

/** What the emulator still holds for the sender: un-ACKed, waiting for a new connection, queued. */
export interface EmulatorBacklog {
  readonly unacked: number;
  readonly awaitingNewConnection: number;
  readonly queued: number;
}

export function backlog(stats: StatsView, senderId = DEMO_SENDER_ID): EmulatorBacklog {
  const sender = stats.bySender[senderId];
  return {
    unacked: stats.connections
      .filter((c) => c.senderId === senderId)
      .reduce((n, c) => n + c.unackedUpstream, 0),
    awaitingNewConnection: sender?.awaitingNewConnection ?? 0,
    queued: sender?.queuedUpstream ?? 0,
  };
}

export class UpstreamRounds {
  readonly #admin: EmulatorAdmin;
  readonly #js: JetStreamClient;
  readonly outcomes: OutcomeCollector;
  readonly up: KeyedStreamCollector;
  readonly receipts: KeyedStreamCollector;
  readonly all: RoundTraffic = { downstreamIds: [], receiptIds: [], upstreamKeys: [] };

  private constructor(
    admin: EmulatorAdmin,
    js: JetStreamClient,
    outcomes: OutcomeCollector,
    up: KeyedStreamCollector,
    receipts: KeyedStreamCollector,
  ) {
    this.#admin = admin;
    this.#js = js;
    this.outcomes = outcomes;
    this.up = up;
    this.receipts = receipts;
  }

  /** Call once the streams exist (a worker is ready) and a coordinator runs. */
  static async start(s: Scenario): Promise<UpstreamRounds> {
    const admin = s.cluster.emulator.admin;
    for (let d = 0; d < UP_DEVICES; d++) await admin.addDevice({ token: upDevice(d), category: CATEGORY });
    const outcomes = await s.collectOutcomes(DEMO_SENDER_ID);
    const up = await KeyedStreamCollector.start(s.nc, UP_STREAM, `ccs.up.${DEMO_SENDER_ID}.>`, upstreamKey);
    const receipts = await KeyedStreamCollector.start(
      s.nc,
      RECEIPT_STREAM,
      `ccs.receipt.${DEMO_SENDER_ID}`,
      receiptKey,
    );
    return new UpstreamRounds(admin, jetstream(s.nc), outcomes, up, receipts);
  }

  /** Publishes `count` downstream messages of round `round`; `onPublished` may strike a fault mid-way. */
  async downstream(
    round: number,
    count: number,
    options: { durationMs?: number; onPublished?: (done: number) => void | Promise<void> } = {},
  ): Promise<Pick<RoundTraffic, "downstreamIds" | "receiptIds">> {
    const downstreamIds = await publishDownstream(this.#js, {
      senderId: DEMO_SENDER_ID,
      prefix: `r${round}`,
      count,
      devices: 16,
      extra: (i) => (i % RECEIPT_EVERY === 0 ? { delivery_receipt_requested: true } : {}),
      ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }),
      ...(options.onPublished === undefined ? {} : { onPublished: options.onPublished }),
    });
    const receiptIds = downstreamIds.filter((_, i) => i % RECEIPT_EVERY === 0);
    this.all.downstreamIds.push(...downstreamIds);
    this.all.receiptIds.push(...receiptIds);
    return { downstreamIds, receiptIds };
  }

  /**
   * Posts `count` upstream messages labelled `label` (unique per call; ids unique per device, as devices
   * choose them), `concurrency` at a time; `onPosted(n)` runs after each (e.g. to reset a connection).
   */
  async upstream(
    label: string,
    count: number,
    options: { onPosted?: (done: number) => void | Promise<void>; concurrency?: number } = {},
  ): Promise<string[]> {
    const keys: string[] = [];
    const bodies = Array.from({ length: count }, (_, i) => {
      const from = upDevice(i % UP_DEVICES);
      const messageId = `${label}.${Math.floor(i / UP_DEVICES)}`;
      keys.push(`${from}|${messageId}`);
      return { from, messageId, category: CATEGORY, data: { label }, timeToLive: 600 };
    });
    this.all.upstreamKeys.push(...keys);
    let next = 0;
    let done = 0;
    const lane = async (): Promise<void> => {
      for (let i = next++; i < bodies.length; i = next++) {
        await this.#admin.sendUpstream(bodies[i] as (typeof bodies)[number]);
        done++;
        await options.onPosted?.(done);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 4 }, () => lane()));
    return keys;
  }

  /**
   * Waits until the round's downstream messages have their outcomes, its receipts and upstream messages
   * are published, and the emulator holds nothing for the sender (all ACKed, nothing waiting); then
   * checks exactly-once for the round.
   */
  async settle(
    round: number,
    t: RoundTraffic,
    timeoutMs = TIMINGS.ackWaitMs + 40_000,
  ): Promise<EmulatorBacklog> {
    await this.outcomes.waitForAll(t.downstreamIds, timeoutMs);
    await this.receipts.waitForAll(t.receiptIds, timeoutMs, `round ${round}: every receipt published`);
    await this.up.waitForAll(t.upstreamKeys, timeoutMs, `round ${round}: every upstream message published`);
    let last: EmulatorBacklog | undefined;
    try {
      await waitFor(
        async () => {
          last = backlog(await this.#admin.stats());
          return last.unacked === 0 && last.awaitingNewConnection === 0 && last.queued === 0;
        },
        {
          timeoutMs: 30_000,
          intervalMs: 200,
          description: `round ${round}: nothing un-ACKed in the emulator`,
        },
      );
    } catch (err) {
      throw new Error(`round ${round}: the emulator still holds upstream: ${JSON.stringify(last)}`, {
        cause: err,
      });
    }
    assertExactlyOneOutcomeEach(this.outcomes, t.downstreamIds);
    this.assertPublishedOnce();
    return last ?? { unacked: 0, awaitingNewConnection: 0, queued: 0 };
  }

  /** Every receipt and upstream message of every round so far: published, and exactly once. */
  assertPublishedOnce(): void {
    const problems: string[] = [];
    const check = (what: string, c: KeyedStreamCollector, keys: readonly string[]): void => {
      const missing = c.missing(keys);
      const dups = Object.entries(c.duplicated());
      if (missing.length > 0)
        problems.push(`${what}: ${missing.length} missing (e.g. ${missing.slice(0, 3)})`);
      if (dups.length > 0)
        problems.push(`${what}: ${dups.length} published twice (e.g. ${JSON.stringify(dups.slice(0, 3))})`);
      if (c.total !== keys.length) problems.push(`${what}: ${c.total} published for ${keys.length}`);
      if (c.malformed > 0) problems.push(`${what}: ${c.malformed} malformed`);
    };
    check("upstream", this.up, this.all.upstreamKeys);
    check("receipts", this.receipts, this.all.receiptIds);
    if (problems.length > 0) throw new Error(problems.join("; "));
  }

  async close(): Promise<void> {
    await Promise.all([this.up.close(), this.receipts.close()]);
  }
}
