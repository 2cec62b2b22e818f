// A sender's connection slot: keeps one live CCS connection. It reconnects at once after a loss that
// follows authentication, backs off (exponential, jitter) after failures before it, reports a refused
// key loudly, and replaces draining or recycled connections while they finish.
import { EventEmitter } from "node:events";
import type { Logger } from "@ccs/telemetry";
import { Backoff } from "./backoff.ts";
import type { TimerHandle } from "./clock.ts";
import type { CcsConnection, ConnectionSlot, ConnectionState, SlotEvents } from "./contract.ts";
import { AuthenticationError, IllegalStateError } from "./errors.ts";
import { parseSlotOptions, type ResolvedSlotOptions, type SlotOptions } from "./options.ts";
import { type CloseInfo, XmppCcsConnection } from "./xmpp-connection.ts";

/** Slot lifecycle: idle → running → closing → closed (idle → closed when closed before start). */
export type SlotStatus = "idle" | "running" | "closing" | "closed";

const SLOT_TRANSITIONS: Readonly<Record<SlotStatus, readonly SlotStatus[]>> = {
  idle: ["running", "closing"],
  running: ["closing"],
  closing: ["closed"],
  closed: [],
};

export class CcsConnectionSlot implements ConnectionSlot {
  readonly senderId: string;
  readonly slotIndex: number;
  readonly #options: ResolvedSlotOptions;
  readonly #log: Logger;
  readonly #events = new EventEmitter();
  readonly #backoff: Backoff;
  #status: SlotStatus = "idle";
  /** The connection new work goes to (connecting or online). */
  #current: XmppCcsConnection | undefined;
  /** Draining or recycled connections waiting to be closed. */
  readonly #retiring = new Set<XmppCcsConnection>();
  #retryTimer: TimerHandle | undefined;
  #quickLosses = 0;
  #sequence = 0;
  #attempts = 0;
  #closePromise: Promise<void> | undefined;
  #sendGate: (() => boolean) | undefined;

  constructor(options: SlotOptions) {
    this.#options = parseSlotOptions(options);
    this.senderId = this.#options.senderId;
    this.slotIndex = this.#options.slotIndex;
    this.#log = this.#options.logger.child({ senderId: this.senderId, slot: this.slotIndex });
    this.#backoff = new Backoff(this.#options.backoff, this.#options.random);
  }

  get status(): SlotStatus {
    return this.#status;
  }

  /** Connection attempts made so far (for tests and metrics). */
  get attempts(): number {
    return this.#attempts;
  }

  setSendGate(gate: () => boolean): void {
    this.#sendGate = gate;
    this.#current?.setSendGate(gate);
    for (const connection of this.#retiring) connection.setSendGate(gate);
  }

  connections(): readonly CcsConnection[] {
    const open: CcsConnection[] = [];
    if (this.#current !== undefined && this.#current.state !== "closed") open.push(this.#current);
    for (const c of this.#retiring) if (c.state !== "closed") open.push(c);
    return open;
  }

  on<E extends keyof SlotEvents>(event: E, listener: SlotEvents[E]): this {
    this.#events.on(event, listener);
    return this;
  }

  off<E extends keyof SlotEvents>(event: E, listener: SlotEvents[E]): this {
    this.#events.off(event, listener);
    return this;
  }

  start(): void {
    this.#setStatus("running", "start()");
    this.#connect();
  }

  close(graceMs: number): Promise<void> {
    this.#closePromise ??= this.#close(graceMs);
    return this.#closePromise;
  }

  async #close(graceMs: number): Promise<void> {
    this.#setStatus("closing", "close()");
    if (this.#retryTimer !== undefined) this.#options.clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const all = [...(this.#current === undefined ? [] : [this.#current]), ...this.#retiring];
    // Every connection closes even if one fails (each close() already has its own force deadline).
    const results = await Promise.allSettled(all.map((c) => c.close(graceMs)));
    for (const r of results) {
      if (r.status === "rejected") this.#log.error({ err: String(r.reason) }, "connection close failed");
    }
    this.#setStatus("closed", "all connections closed");
  }

  #setStatus(next: SlotStatus, reason: string): void {
    const previous = this.#status;
    if (!SLOT_TRANSITIONS[previous].includes(next)) {
      throw new IllegalStateError(`illegal slot transition ${previous} → ${next} (${reason})`);
    }
    this.#status = next;
    this.#log.info({ status: next, previous, reason }, `slot ${previous} → ${next}`);
  }

  #connect(): void {
    if (this.#status !== "running" || this.#current !== undefined) return;
    if (this.#retryTimer !== undefined) this.#options.clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#sequence++;
    this.#attempts++;
    const id = `${this.senderId}/${this.slotIndex}/${this.#sequence}`;
    const connection = new XmppCcsConnection({
      id,
      options: this.#options,
      logger: this.#log.child({ connectionId: id }),
      onRecycleNeeded: (c) => this.#recycle(c),
    });
    this.#current = connection;
    if (this.#sendGate !== undefined) connection.setSendGate(this.#sendGate);
    connection.on("state", (state: ConnectionState) => this.#onState(connection, state));
    void connection.closed().then((info) => this.#onClosed(connection, info));
    connection.open().then(
      () => {
        this.#backoff.reset();
        if (this.#status !== "running") {
          void connection.close(0);
          return;
        }
        if (connection === this.#current) this.#events.emit("connection", connection);
      },
      // The failure is handled in #onClosed (every failed open() ends closed).
      () => undefined,
    );
  }

  #onState(connection: XmppCcsConnection, state: ConnectionState): void {
    if (state !== "draining" || connection !== this.#current) return;
    this.#current = undefined;
    this.#retiring.add(connection);
    if (this.#status !== "running") return;
    this.#events.emit("draining", connection);
    // A replacement opens at once; the draining one keeps collecting answers until CCS closes it.
    this.#connect();
  }

  #recycle(connection: XmppCcsConnection): void {
    if (connection !== this.#current || this.#status !== "running") return;
    // close() drains first (→ #onState opens the replacement), waits for live sends, then closes.
    void connection.close(this.#options.answerTimeoutMs);
  }

  #onClosed(connection: XmppCcsConnection, info: CloseInfo): void {
    this.#retiring.delete(connection);
    if (connection !== this.#current) return;
    this.#current = undefined;
    if (this.#status !== "running") return;
    const { clock, minStableMs, maxQuickLosses } = this.#options;
    if (info.wasOnline) {
      // CCS: "no need to back off after a disconnect that happens after authentication" — except when
      // connections keep dying right after coming online, which would otherwise be a reconnect storm.
      const lived = clock.now() - (info.onlineAt ?? 0);
      this.#quickLosses = lived < minStableMs ? this.#quickLosses + 1 : 0;
      if (this.#quickLosses < maxQuickLosses) {
        this.#log.info({ reason: info.reason }, "connection lost after authentication: reconnecting now");
        this.#connect();
        return;
      }
      this.#log.warn(
        { quickLosses: this.#quickLosses },
        "connections keep dropping right after auth: backing off",
      );
    }
    const delay = this.#backoff.next();
    const error = info.error;
    if (error instanceof AuthenticationError) {
      this.#log.error(
        { condition: error.condition, nextAttemptInMs: delay, attempt: this.#backoff.attempts },
        "CCS REFUSED THE SENDER'S API KEY: check the credentials; retrying with backoff",
      );
      this.#events.emit("authFailed", error, delay);
    } else {
      this.#log.warn(
        { reason: info.reason, err: error?.message, nextAttemptInMs: delay, attempt: this.#backoff.attempts },
        "connection failed before authentication: retrying with backoff",
      );
    }
    this.#retryTimer = clock.setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect();
    }, delay);
  }
}

/** Creates (does not start) a connection slot; validates the options (InvalidConnectionOptionError). */
export function createConnectionSlot(options: SlotOptions): CcsConnectionSlot {
  return new CcsConnectionSlot(options);
}
