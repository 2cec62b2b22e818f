// Idle XMPP ping (XEP-0199) of one connection: when nothing was read or written for a whole interval,
// ping the server; no answer within the timeout means the connection is lost. Off the hot path: the
// connection only counts activity, which is compared once per interval.
import type { Logger } from "@ccs/telemetry";
import type { TimerHandle } from "./clock.ts";
import type { ResolvedSlotOptions } from "./options.ts";
import { pingXml } from "./wire.ts";

/** The options the idle ping follows: pingIntervalMs (0 disables it), pingTimeoutMs, clock, domain (pinged). */
export type IdlePingSettings = Pick<
  ResolvedSlotOptions,
  "pingIntervalMs" | "pingTimeoutMs" | "clock" | "domain"
>;

/** What the idle ping needs from its connection. */
export interface IdlePingLink {
  readonly log: Logger;
  /** A number that changes whenever a stanza is read or written (compared between two intervals). */
  readonly activity: () => number;
  /** False once pinging no longer makes sense (neither online nor draining): the ping stops. */
  readonly active: () => boolean;
  /** Queues the ping stanza on the connection. */
  readonly write: (stanza: string) => void;
  /** No answer to a ping within pingTimeoutMs (logged here): the connection is lost. */
  readonly onTimeout: () => void;
}

export class IdlePing {
  readonly #settings: IdlePingSettings;
  readonly #link: IdlePingLink;
  #timer: TimerHandle | undefined;
  #timeout: TimerHandle | undefined;
  /** The id of the ping waiting for its answer. */
  #id: string | undefined;
  #seq = 0;
  #activitySeen = -1;

  constructor(settings: IdlePingSettings, link: IdlePingLink) {
    this.#settings = settings;
    this.#link = link;
  }

  /** Starts the interval timer (once the connection is online). */
  start(): void {
    const { pingIntervalMs, pingTimeoutMs, clock, domain } = this.#settings;
    const { log, activity, active, write, onTimeout } = this.#link;
    if (pingIntervalMs === 0) return;
    this.#timer = clock.setTimeout(() => {
      this.#timer = undefined;
      if (!active()) return;
      if (activity() === this.#activitySeen && this.#id === undefined) {
        this.#seq++;
        const id = `ping-${this.#seq}`;
        this.#id = id;
        write(pingXml(id, domain));
        this.#timeout = clock.setTimeout(() => {
          this.#timeout = undefined;
          log.warn({ pingTimeoutMs }, "no answer to XMPP ping: closing the connection");
          onTimeout();
        }, pingTimeoutMs);
      }
      this.#activitySeen = activity();
      this.start();
    }, pingIntervalMs);
  }

  /** An iq result/error with this id arrived: true when it answers our ping (its timeout is cancelled). */
  answered(id: string): boolean {
    if (id !== this.#id) return false;
    this.#id = undefined;
    if (this.#timeout !== undefined) this.#settings.clock.clearTimeout(this.#timeout);
    this.#timeout = undefined;
    return true;
  }

  /** Stops both timers (at teardown). */
  stop(): void {
    const { clock } = this.#settings;
    if (this.#timer !== undefined) clock.clearTimeout(this.#timer);
    if (this.#timeout !== undefined) clock.clearTimeout(this.#timeout);
    this.#timer = undefined;
    this.#timeout = undefined;
  }
}
