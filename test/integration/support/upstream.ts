// Upstream side: what the coordinators publish once to ccs.up.<sender>.<category> (stream CCS_UP) and
// ccs.receipt.<sender> (stream CCS_RECEIPT), read from the start with ordered consumers.

import { waitFor } from "@ccs/testkit";
import { type JsMsg, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";

export const UP_STREAM = "CCS_UP";
export const RECEIPT_STREAM = "CCS_RECEIPT";

export interface UpstreamBody {
  readonly from?: string;
  readonly message_id?: string;
  readonly category?: string;
  readonly message_type?: string;
  readonly data?: Record<string, string>;
}

/** Counts the JSON messages of one stream/filter by a key. */
export class KeyedStreamCollector {
  readonly counts = new Map<string, number>();
  readonly subjects = new Map<string, string>();
  #malformed = 0;
  #stop: (() => Promise<void>) | undefined;
  readonly #key: (body: UpstreamBody) => string | undefined;

  private constructor(key: (body: UpstreamBody) => string | undefined) {
    this.#key = key;
  }

  static async start(
    nc: NatsConnection,
    stream: string,
    filter: string,
    key: (body: UpstreamBody) => string | undefined,
  ): Promise<KeyedStreamCollector> {
    const c = new KeyedStreamCollector(key);
    const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: filter });
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
    let k: string | undefined;
    try {
      k = this.#key(m.json<UpstreamBody>());
    } catch {
      k = undefined;
    }
    if (k === undefined) {
      this.#malformed++;
      return;
    }
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
    this.subjects.set(k, m.subject);
  }

  get malformed(): number {
    return this.#malformed;
  }

  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  missing(keys: readonly string[]): string[] {
    return keys.filter((k) => !this.counts.has(k));
  }

  duplicated(): Record<string, number> {
    return Object.fromEntries([...this.counts].filter(([, n]) => n > 1));
  }

  async waitForAll(keys: readonly string[], timeoutMs: number, what: string): Promise<void> {
    try {
      await waitFor(() => this.missing(keys).length === 0, { timeoutMs, intervalMs: 100, description: what });
    } catch (err) {
      const missing = this.missing(keys);
      throw new Error(
        `${what}: ${missing.length} of ${keys.length} missing (e.g. ${missing.slice(0, 5).join(", ")})`,
        {
          cause: err,
        },
      );
    }
  }

  async close(): Promise<void> {
    await this.#stop?.();
  }
}

/** Key of a device's upstream message: device message ids are unique per device only. */
export function upstreamKey(body: UpstreamBody): string | undefined {
  return body.from === undefined || body.message_id === undefined
    ? undefined
    : `${body.from}|${body.message_id}`;
}

/** Key of a receipt: the downstream message it confirms. */
export function receiptKey(body: UpstreamBody): string | undefined {
  return body.data?.original_message_id;
}
