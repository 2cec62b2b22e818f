// One CCS connection: @xmpp/client sets up the stream (direct TLS, SASL PLAIN, bind, session); after
// that the hot path bypasses its per-stanza middleware: stanza strings are batched straight onto the
// TLS socket (StanzaOutput) and incoming stanzas are handled at element level (IncomingDispatch), read
// through the hooks of xmpp-client-adapter.ts. This file holds the lifecycle: open, online, drain, close.
import { EventEmitter } from "node:events";
import type { DownstreamRequest } from "@ccs/ccs-protocol";
import type { Logger } from "@ccs/telemetry";
import type { TimerHandle } from "./clock.ts";
import type { CcsConnection, ConnectionEvents, ConnectionState, SendResult } from "./contract.ts";
import { ConnectError, ConnectionClosedError, IllegalStateError } from "./errors.ts";
import { IncomingDispatch } from "./incoming-dispatch.ts";
import { IdlePing } from "./keepalive.ts";
import type { ResolvedSlotOptions } from "./options.ts";
import { PendingWindow } from "./pending-window.ts";
import { StanzaOutput } from "./stanza-output.ts";
import { ConnectionLifecycle } from "./state-machine.ts";
import { StreamSetUp } from "./stream-setup.ts";
import { downstreamXml } from "./wire.ts";
import { createXmppClient, type XmppClientAdapter } from "./xmpp-client-adapter.ts";

/** After our `</stream:stream>`, how long the server gets to close before the socket is destroyed. */
export const FORCE_CLOSE_MS = 2_000;

const CONNECTION_CLOSED: SendResult = Object.freeze({ kind: "lost", reason: "connection-closed" });

/** How a connection ended; `closed()` resolves with it. */
export interface CloseInfo {
  /** True when the connection was authenticated and online at some point. */
  readonly wasOnline: boolean;
  /** When it came online (clock time), if it did. */
  readonly onlineAt: number | undefined;
  readonly reason: string;
  /** The failure, when it ended with one (AuthenticationError, ConnectError, socket errors). */
  readonly error: Error | undefined;
}

export interface XmppCcsConnectionInit {
  readonly id: string;
  readonly options: ResolvedSlotOptions;
  readonly logger: Logger;
  /** Called once when timed-out sends hold more than recycleGhostFraction of the window. */
  readonly onRecycleNeeded?: (connection: XmppCcsConnection) => void;
}

export class XmppCcsConnection implements CcsConnection {
  readonly id: string;
  readonly senderId: string;
  readonly windowSize: number;
  readonly #options: ResolvedSlotOptions;
  readonly #log: Logger;
  readonly #lifecycle: ConnectionLifecycle;
  readonly #window: PendingWindow;
  readonly #events = new EventEmitter();
  readonly #onRecycleNeeded: ((connection: XmppCcsConnection) => void) | undefined;
  readonly #out: StanzaOutput;
  readonly #keepalive: IdlePing;
  readonly #dispatch: IncomingDispatch;
  readonly #closed: Promise<CloseInfo>;
  #resolveClosed!: (info: CloseInfo) => void;
  #xmpp: XmppClientAdapter | undefined;
  #roomScheduled = false;
  #drainTimer: TimerHandle | undefined;
  #onlineAt: number | undefined;
  #jid: string | undefined;
  #recycleRequested = false;
  #onIdle: (() => void) | undefined;
  #closePromise: Promise<void> | undefined;
  /** Aborted at teardown: the `signal` of every upstream delivery read on this connection. */
  readonly #life = new AbortController();

  constructor(init: XmppCcsConnectionInit) {
    const { options } = init;
    this.id = init.id;
    this.#options = options;
    this.senderId = options.senderId;
    this.windowSize = options.windowSize;
    this.#log = init.logger;
    this.#onRecycleNeeded = init.onRecycleNeeded;
    this.#lifecycle = new ConnectionLifecycle(this.#log, (state, previous) => {
      if (state === "draining") this.#armDrainTimeout();
      this.#events.emit("state", state, previous);
    });
    this.#window = new PendingWindow({
      windowSize: this.windowSize,
      answerTimeoutMs: options.answerTimeoutMs,
      clock: options.clock,
      onTimeout: (expired) => this.#onAnswerTimeout(expired),
    });
    this.#out = new StanzaOutput({
      maxBatchBytes: options.maxBatchBytes,
      log: this.#log,
      fail: (reason, error) => this.#teardown(reason, error),
    });
    this.#keepalive = new IdlePing(options, {
      log: this.#log,
      activity: () => this.#dispatch.received + this.#out.activity,
      active: () => this.#lifecycle.state === "online" || this.#lifecycle.state === "draining",
      write: (stanza) => this.#out.write(stanza),
      onTimeout: () => this.#teardown("ping timeout", new ConnectionClosedError("no answer to XMPP ping")),
    });
    this.#dispatch = new IncomingDispatch({
      log: this.#log,
      window: this.#window,
      keepalive: this.#keepalive,
      write: (stanza) => this.#out.write(stanza),
      drain: (reason) => this.drain(reason),
      answered: () => {
        if (this.#window.live === 0) this.#onIdle?.();
        this.#scheduleRoom();
      },
      upstream: {
        senderId: this.senderId,
        connectionId: this.id,
        clock: options.clock,
        signal: this.#life.signal,
        sink: options.upstream,
        // An ACK is not written once the slot's lease ended: the write would close the connection and cut
        // short the grace its pending sends get while the slot is handed over. The message is persisted;
        // CCS resends it on the next connection once this one closes (the slot is being closed).
        write: (stanza) => this.#out.gateOpen() && this.#out.write(stanza),
        abandon: (messageId, kind, reason) => this.#abandonUpstream(messageId, kind, reason),
      },
    });
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
  }

  get state(): ConnectionState {
    return this.#lifecycle.state;
  }

  get pending(): number {
    return this.#window.pending;
  }

  /** The full JID CCS bound (`senderId@gcm.googleapis.com/resource`), once online. */
  get jid(): string | undefined {
    return this.#jid;
  }

  /** Timed-out sends still holding a window slot. */
  get ghosts(): number {
    return this.#window.ghosts;
  }

  room(): number {
    return this.#lifecycle.state === "online" ? this.#window.room() : 0;
  }

  /** Resolves (never rejects) once the connection is closed. */
  closed(): Promise<CloseInfo> {
    return this.#closed;
  }

  on<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this {
    this.#events.on(event, listener);
    return this;
  }

  off<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this {
    this.#events.off(event, listener);
    return this;
  }

  send(request: DownstreamRequest): Promise<SendResult> {
    const state = this.#lifecycle.state;
    if (state !== "online") throw new IllegalStateError(`send() is not allowed in state ${state}`);
    const id = request.message_id;
    if (this.#window.room() <= 0) {
      throw new IllegalStateError(`send() without room: ${this.#window.pending}/${this.windowSize} pending`);
    }
    if (this.#window.has(id)) throw new IllegalStateError(`message_id ${id} is already pending here`);
    const stanza = downstreamXml(request);
    return new Promise<SendResult>((resolve) => {
      this.#window.add(id, resolve);
      this.#out.write(stanza);
    });
  }

  /** See ConnectionSlot.setSendGate: checked before every socket write of this connection. */
  setSendGate(gate: () => boolean): void {
    this.#out.setSendGate(gate);
  }

  /**
   * Opens TLS, authenticates and binds; resolves once online. Rejects with AuthenticationError when
   * CCS refuses the key, ConnectError for anything else before online. Either way the connection is closed.
   */
  async open(): Promise<void> {
    this.#lifecycle.assert(["connecting"], "open()");
    if (this.#xmpp !== undefined) throw new IllegalStateError("open() was already called");
    const { service, connectTimeoutMs, clock } = this.#options;
    if (!service.rejectUnauthorized) {
      this.#log.warn({ host: service.host }, "TLS certificate verification is OFF for this connection");
    }
    const xmpp = createXmppClient(this.#options, {
      gcm: this.#dispatch.gcm,
      element: this.#dispatch.element,
      isClosed: () => this.#lifecycle.state === "closed",
      unreadable: (err) => {
        this.#log.error({ err: String(err) }, "unreadable stream from the server: closing the connection");
        this.#teardown("unreadable stream", err instanceof Error ? err : new Error(String(err)));
      },
      error: (err) => this.#onXmppError(err),
      status: (status) => this.#onXmppStatus(status),
    });
    this.#xmpp = xmpp;
    const setUp = new StreamSetUp({
      xmpp,
      senderId: this.senderId,
      clock,
      connectTimeoutMs,
      handshake: this.#dispatch,
      closed: this.#closed,
      teardown: (reason, error) => this.#teardown(reason, error),
    });
    try {
      await setUp.done;
    } catch (err) {
      throw setUp.failed(err);
    } finally {
      setUp.finish();
    }
    this.#goOnline(xmpp);
  }

  /** Stops new sends here (online → draining); answers and upstream keep flowing until the server closes. */
  drain(reason: string): void {
    if (this.#lifecycle.state === "online") this.#lifecycle.set("draining", reason);
  }

  /**
   * Graceful close, idempotent: no new sends; waits up to graceMs for live sends to be answered, then
   * closes the stream, and destroys the socket if the server does not close within FORCE_CLOSE_MS.
   * Sends still pending settle as lost/connection-closed.
   */
  close(graceMs = 0): Promise<void> {
    this.#closePromise ??= this.#close(graceMs);
    return this.#closePromise;
  }

  async #close(graceMs: number): Promise<void> {
    const state = this.#lifecycle.state;
    if (state === "closed") return;
    if (state === "connecting" || state === "authenticating") {
      this.#teardown("closed before online", new ConnectionClosedError("connection closed before online"));
      return;
    }
    this.drain("close requested");
    if (this.#window.live > 0 && graceMs > 0) {
      await this.#waitUntil((done) => {
        this.#onIdle = done;
      }, graceMs);
      this.#onIdle = undefined;
    }
    if (this.#lifecycle.state === "closed") return;
    this.#out.endStream(false);
    await this.#waitUntil((done) => {
      void this.#closed.then(done);
    }, FORCE_CLOSE_MS);
    this.#teardown("closed by client");
  }

  /** Resolves when `arm` calls its callback, the connection closes, or after ms (clock time). */
  #waitUntil(arm: (done: () => void) => void, ms: number): Promise<void> {
    const { clock } = this.#options;
    return new Promise<void>((resolve) => {
      const timer = clock.setTimeout(resolve, ms);
      const done = (): void => {
        clock.clearTimeout(timer);
        resolve();
      };
      arm(done);
      void this.#closed.then(done);
    });
  }

  #onXmppError(err: Error): void {
    const state = this.#lifecycle.state;
    if (state === "closed") return;
    this.#log.warn({ err: { name: err.name, message: err.message } }, "xmpp connection error");
  }

  #onXmppStatus(status: string): void {
    switch (status) {
      case "connect":
        this.#out.attach(this.#xmpp?.tlsSocket);
        this.#lifecycle.trySet("authenticating", "TLS established");
        return;
      case "close":
        // The server closed its stream: close ours and the socket; "disconnect" follows.
        this.#out.endStream(true);
        return;
      case "disconnect":
        this.#teardown(
          "socket closed",
          this.#lifecycle.state === "connecting" ? new ConnectError("socket closed") : undefined,
        );
        return;
      default:
        return;
    }
  }

  #goOnline(xmpp: XmppClientAdapter): void {
    if (this.#lifecycle.state !== "authenticating") {
      throw new ConnectionClosedError("connection closed while coming online");
    }
    xmpp.ignoreStreamText();
    this.#onlineAt = this.#options.clock.now();
    this.#jid = xmpp.jid;
    this.#lifecycle.set("online", `bound as ${this.#jid ?? "?"}`);
    this.#dispatch.goOnline();
    this.#keepalive.start();
    this.#scheduleRoom();
  }

  /** The message will not be ACKed here: close, so that CCS resends it on the next connection. */
  #abandonUpstream(messageId: string, kind: string, reason: string): void {
    if (this.#lifecycle.state === "closed") return;
    this.#log.warn(
      { messageId, kind, reason },
      "upstream message not ACKed: closing the connection so that CCS resends it on the next one",
    );
    void this.close(0);
  }

  /** CCS closes a draining connection itself; if it never does, we close it after drainTimeoutMs. */
  #armDrainTimeout(): void {
    const { drainTimeoutMs, clock } = this.#options;
    this.#drainTimer = clock.setTimeout(() => {
      this.#drainTimer = undefined;
      this.#log.warn({ drainTimeoutMs }, "draining connection not closed by the server: closing it");
      void this.close(0);
    }, drainTimeoutMs);
  }

  #onAnswerTimeout(expired: number): void {
    const ghosts = this.#window.ghosts;
    this.#log.warn(
      { expired, ghosts, pending: this.#window.pending },
      "sends timed out waiting for an answer",
    );
    if (this.#window.live === 0) this.#onIdle?.();
    if (
      !this.#recycleRequested &&
      this.#lifecycle.state === "online" &&
      ghosts > this.windowSize * this.#options.recycleGhostFraction
    ) {
      this.#recycleRequested = true;
      this.#log.warn(
        { ghosts, windowSize: this.windowSize },
        "too many unanswered sends: recycling connection",
      );
      this.#onRecycleNeeded?.(this);
    }
  }

  #scheduleRoom(): void {
    if (this.#roomScheduled) return;
    this.#roomScheduled = true;
    queueMicrotask(() => {
      this.#roomScheduled = false;
      const room = this.room();
      if (room > 0) this.#events.emit("room", room);
    });
  }

  /** Ends everything, once: settles pending sends as lost, stops timers, destroys the socket, state → closed. */
  #teardown(reason: string, error?: Error): void {
    if (this.#lifecycle.state === "closed") return;
    this.#keepalive.stop();
    if (this.#drainTimer !== undefined) this.#options.clock.clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
    this.#out.close();
    const lost = this.#window.close(CONNECTION_CLOSED);
    // Failed before TLS was up: make sure xmpp.js's socket goes too.
    if (!this.#out.attached) this.#xmpp?.destroySocket();
    const wasOnline = this.#onlineAt !== undefined;
    const fields = { reason, lost, wasOnline, err: error && { name: error.name, message: error.message } };
    if (lost > 0) this.#log.warn(fields, "connection closed with sends pending: settled as lost");
    this.#lifecycle.set("closed", reason);
    this.#life.abort(new ConnectionClosedError(`connection closed: ${reason}`));
    this.#resolveClosed({ wasOnline, onlineAt: this.#onlineAt, reason, error });
  }
}
