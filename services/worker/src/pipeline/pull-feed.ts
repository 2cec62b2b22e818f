/**
 * One connection's pull requests on its sender's durable consumer. It asks JetStream for exactly
 * the number of messages the caller has room for (`pull(n)`), and keeps count of what was asked
 * and not yet delivered (`outstanding`), so room is never promised twice. Several pulls may be open
 * at once (pipelining: refill before the window is empty).
 */

import { errorFields, type Logger } from "@ccs/telemetry";
import type { Consumer, ConsumerMessages, JsMsg } from "@nats-io/jetstream";

/** After a failed pull (NATS down, consumer gone), the next one waits this long: no tight retry loop. */
export const PULL_RETRY_DELAY_MS = 1_000;

export interface PullFeedHandlers {
  onMessage(msg: JsMsg): void;
  /** A pull ended (all delivered, expired, or failed): `outstanding` may have dropped. */
  onPullEnd(): void;
}

export class PullFeed {
  readonly #consumer: Consumer;
  readonly #handlers: PullFeedHandlers;
  readonly #logger: Logger;
  readonly #active = new Set<ConsumerMessages>();
  readonly #done = new Set<Promise<void>>();
  #outstanding = 0;
  #requests = 0;
  #stopped = false;
  #retryAt = 0;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(consumer: Consumer, handlers: PullFeedHandlers, logger: Logger) {
    this.#consumer = consumer;
    this.#handlers = handlers;
    this.#logger = logger;
  }

  /** Messages asked for and not yet delivered. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** Pull requests open. */
  get requests(): number {
    return this.#requests;
  }

  pull(n: number, expiresMs: number): void {
    if (this.#stopped || n <= 0) return;
    const wait = this.#retryAt - performance.now();
    if (wait > 0) {
      // Ask again once the pause after a failure is over.
      this.#retryTimer ??= setTimeout(() => {
        this.#retryTimer = undefined;
        if (!this.#stopped) this.#handlers.onPullEnd();
      }, wait);
      return;
    }
    this.#outstanding += n;
    this.#requests++;
    const run = this.#run(n, expiresMs).finally(() => this.#done.delete(run));
    this.#done.add(run);
  }

  async #run(n: number, expiresMs: number): Promise<void> {
    let remaining = n;
    let iter: ConsumerMessages | undefined;
    try {
      iter = await this.#consumer.fetch({ max_messages: n, expires: expiresMs });
      this.#active.add(iter);
      for await (const msg of iter) {
        if (remaining > 0) {
          remaining--;
          this.#outstanding--;
        }
        this.#handlers.onMessage(msg);
      }
    } catch (err) {
      this.#retryAt = performance.now() + PULL_RETRY_DELAY_MS;
      if (!this.#stopped) this.#logger.warn(errorFields(err), "pull request failed");
    } finally {
      if (iter !== undefined) this.#active.delete(iter);
      this.#outstanding -= remaining;
      this.#requests--;
      if (!this.#stopped) this.#handlers.onPullEnd();
    }
  }

  /**
   * Closes the open pulls. Messages JetStream had already routed to a closed pull are redelivered
   * after ack_wait; callers stop pulling early (and nak what still arrives) to keep that rare.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    for (const iter of this.#active) iter.stop();
    await Promise.allSettled([...this.#done]);
  }
}
