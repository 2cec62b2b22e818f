/// <reference path="./xmpp-modules.d.ts" />
// One CCS connection: @xmpp/client sets up the stream (direct TLS, SASL PLAIN, bind, session); after
// that the hot path bypasses its per-stanza middleware: stanza strings are batched straight onto the
// TLS socket and incoming elements are handled here, at element level.
import { EventEmitter, once } from "node:events";
import { StringDecoder } from "node:string_decoder";
import type { TLSSocket } from "node:tls";
import { type DownstreamRequest, StanzaBatchWriter } from "@ccs/ccs-protocol";
import type { Logger } from "@ccs/telemetry";
import { client, type XmlElement, type XmppClient, xml } from "@xmpp/client";
import type { TimerHandle } from "./clock.ts";
import type {
  CcsConnection,
  ConnectionEvents,
  ConnectionState,
  SendResult,
  UpstreamDelivery,
} from "./contract.ts";
import { AuthenticationError, ConnectError, ConnectionClosedError, IllegalStateError } from "./errors.ts";
import type { ResolvedSlotOptions } from "./options.ts";
import { PendingWindow } from "./pending-window.ts";
import { StanzaSplitter } from "./stanza-splitter.ts";
import { ConnectionLifecycle } from "./state-machine.ts";
import {
  CONNECTION_DRAINING,
  classifyGcmJson,
  classifyMessage,
  downstreamXml,
  type Incoming,
  NS_PING,
  NS_SESSION,
  pingXml,
  pongXml,
  serviceUnavailableXml,
  upstreamAckXml,
} from "./wire.ts";

const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
/** After our `</stream:stream>`, how long the server gets to close before the socket is destroyed. */
export const FORCE_CLOSE_MS = 2_000;

/** Largest incomplete stanza held while waiting for its end (CCS stanzas are a few KiB). */
const MAX_PENDING_STANZA_CHARS = 1024 * 1024;

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

function serviceUri(host: string, port: number): string {
  return `xmpps://${host.includes(":") ? `[${host}]` : host}:${port}`;
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
  readonly #writer: StanzaBatchWriter;
  #sendGate: (() => boolean) | undefined;
  #gateClosed = false;
  readonly #closed: Promise<CloseInfo>;
  #resolveClosed!: (info: CloseInfo) => void;
  #xmpp: XmppClient | undefined;
  #tls: TLSSocket | undefined;
  /** Set once online: incoming elements bypass xmpp.js's middleware. */
  #fast = false;
  #roomScheduled = false;
  #received = 0;
  #activitySeen = -1;
  #pingTimer: TimerHandle | undefined;
  #pingTimeout: TimerHandle | undefined;
  #pingId: string | undefined;
  #pingSeq = 0;
  #drainTimer: TimerHandle | undefined;
  /** Messages read before the connection was online (bounded by what CCS sends before bind completes). */
  readonly #early: Incoming[] = [];
  #onlineAt: number | undefined;
  #jid: string | undefined;
  #saslFailure: string | undefined;
  #sessionOffered = false;
  #recycleRequested = false;
  #footerSent = false;
  #onIdle: (() => void) | undefined;
  #closePromise: Promise<void> | undefined;
  /** Aborted at teardown: the `signal` of every upstream delivery read on this connection. */
  readonly #life = new AbortController();

  constructor(init: XmppCcsConnectionInit) {
    this.id = init.id;
    this.#options = init.options;
    this.senderId = init.options.senderId;
    this.windowSize = init.options.windowSize;
    this.#log = init.logger;
    this.#onRecycleNeeded = init.onRecycleNeeded;
    this.#lifecycle = new ConnectionLifecycle(this.#log, (state, previous) => {
      if (state === "draining") this.#armDrainTimeout();
      this.#events.emit("state", state, previous);
    });
    this.#window = new PendingWindow({
      windowSize: this.windowSize,
      answerTimeoutMs: init.options.answerTimeoutMs,
      clock: init.options.clock,
      onTimeout: (expired) => this.#onAnswerTimeout(expired),
    });
    // Stanzas written in one event-loop turn go out in one socket write (setImmediate: after all the
    // I/O callbacks of this turn, so answers read from several sockets batch the sends they trigger).
    this.#writer = new StanzaBatchWriter(
      {
        write: (chunk) => this.#writeToSocket(chunk),
        once: (event, listener) => this.#tls?.once(event, listener),
      },
      {
        maxBatchBytes: init.options.maxBatchBytes,
        schedule: (flush) => setImmediate(flush),
        onError: (err) =>
          this.#teardown("socket write failed", err instanceof Error ? err : new Error(String(err))),
      },
    );
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
      this.#write(stanza);
    });
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
    const xmpp = this.#createClient();
    this.#xmpp = xmpp;
    const failedBeforeOnline = this.#closed.then((info) => {
      throw info.error ?? new ConnectError(`connection closed before online: ${info.reason}`);
    });
    // Marks it handled: it also rejects when an online connection closes later, when nobody waits on it.
    failedBeforeOnline.catch(() => undefined);
    const timer = clock.setTimeout(
      () => this.#teardown("connect timeout", new ConnectError(`not online within ${connectTimeoutMs} ms`)),
      connectTimeoutMs,
    );
    const setUp = (async () => {
      await this.#startStream(xmpp);
      // CCS offers the (RFC 3921) session feature and real clients establish it; skip it if not offered.
      if (this.#sessionOffered) {
        await xmpp.iqCaller.set(xml("session", { xmlns: NS_SESSION }), undefined, connectTimeoutMs);
      }
    })();
    try {
      await Promise.race([setUp, failedBeforeOnline]);
    } catch (err) {
      const error = this.#openError(err);
      this.#teardown("open failed", error);
      // The set-up promise may still settle later; its outcome no longer matters.
      setUp.catch(() => undefined);
      throw error;
    } finally {
      clock.clearTimeout(timer);
    }
    this.#goOnline();
  }

  /**
   * xmpp.start() (connect, open the stream, wait for "online") without its dangling promise. start()
   * creates its "online" promise — which rejects on any "error" event — and only then awaits open().
   * open() registers for the server's stream header after its header write's callback, which on a fast
   * server can come after the header was already read; open() then waits on until an "error" (e.g. the
   * SASLError of a refused key) rejects it and the "online" promise together. start() throws open()'s
   * rejection and nothing ever handles the other one: an unhandled rejection (fatal on Node 24).
   * Here both promises are awaited from the start, so every rejection is handled.
   */
  async #startStream(xmpp: XmppClient): Promise<void> {
    const { service, domain } = this.#options;
    await xmpp.connect(serviceUri(service.host, service.port));
    // node:events once() rejects on "error" like xmpp.js's promise(entity, "online") did.
    await Promise.all([once(xmpp, "online"), xmpp.open({ domain })]);
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
    this.#writer.flush();
    if (!this.#footerSent && this.#tls !== undefined) {
      this.#footerSent = true;
      this.#tls.end("</stream:stream>");
    }
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

  #createClient(): XmppClient {
    const { service, domain, connectTimeoutMs, senderId, apiKey } = this.#options;
    const xmpp = client({
      service: serviceUri(service.host, service.port),
      domain,
      timeout: connectTimeoutMs,
      // The key is revealed only here, inside the SASL exchange; it never reaches a log or an error.
      credentials: async (authenticate, mechanisms) => {
        if (!mechanisms.includes("PLAIN")) {
          throw new AuthenticationError(
            `server offers no PLAIN mechanism (${mechanisms.join(", ")})`,
            undefined,
          );
        }
        await authenticate({ username: `${senderId}@${domain}`, password: apiKey.reveal() }, "PLAIN");
      },
    });
    // Our slot reconnects (with backoff before auth); xmpp.js's fixed-delay reconnect must not.
    xmpp.reconnect.stop();
    const socketParameters = xmpp.socketParameters.bind(xmpp);
    xmpp.socketParameters = (uri) => ({
      ...socketParameters(uri),
      rejectUnauthorized: service.rejectUnauthorized,
      ...(service.caPem !== undefined && { ca: service.caPem }),
      ...(service.servername !== undefined && { servername: service.servername }),
    });
    // Both hooks must be in place before start(): xmpp.js binds them when it first attaches socket/parser.
    const decoder = new StringDecoder("utf8");
    const splitter = new StanzaSplitter(
      {
        gcm: (json) => {
          this.#received++;
          this.#onIncoming(classifyGcmJson(json));
        },
        parse: (text) => xmpp.parser?.write(text),
      },
      MAX_PENDING_STANZA_CHARS,
    );
    const hooks = xmpp as unknown as { _onData(data: Buffer): void };
    hooks._onData = (data) => {
      // StringDecoder keeps a multi-byte character split across TCP chunks intact.
      const text = decoder.write(data);
      if (text.length === 0 || this.#lifecycle.state === "closed") return;
      try {
        splitter.write(text);
      } catch (err) {
        this.#log.error({ err: String(err) }, "unreadable stream from the server: closing the connection");
        this.#teardown("unreadable stream", err instanceof Error ? err : new Error(String(err)));
      }
    };
    const onElement = xmpp._onElement;
    xmpp._onElement = (el) => {
      this.#received++;
      if (this.#fast) {
        this.#onFastElement(el, onElement, xmpp);
        return;
      }
      if (el.getName() === "message") {
        // Before online only xmpp.js's middleware listens, and it has no use for messages: keep them.
        this.#onIncoming(classifyMessage(el));
        return;
      }
      if (el.getName() === "features" && el.getChild("session", NS_SESSION) !== undefined) {
        this.#sessionOffered = true;
      }
      if (el.getName() === "failure" && el.getNS() === NS_SASL) {
        this.#saslFailure =
          (el.children.find((c) => typeof c !== "string") as XmlElement | undefined)?.getName() ?? "failure";
      }
      onElement.call(xmpp, el);
    };
    xmpp.on("error", (err: Error) => this.#onXmppError(err));
    xmpp.on("status", (status: string) => this.#onXmppStatus(status));
    return xmpp;
  }

  #openError(err: unknown): Error {
    if (this.#saslFailure !== undefined) {
      return new AuthenticationError(
        `CCS refused the credentials of sender ${this.senderId}`,
        this.#saslFailure,
        {
          cause: err,
        },
      );
    }
    if (
      err instanceof AuthenticationError ||
      err instanceof ConnectError ||
      err instanceof ConnectionClosedError
    ) {
      return err;
    }
    const message = err instanceof Error ? err.message : String(err);
    return new ConnectError(`could not connect: ${message}`, { cause: err });
  }

  #onXmppError(err: Error): void {
    const state = this.#lifecycle.state;
    if (state === "closed") return;
    this.#log.warn({ err: { name: err.name, message: err.message } }, "xmpp connection error");
  }

  #onXmppStatus(status: string): void {
    switch (status) {
      case "connect":
        this.#tls = this.#xmpp?.socket?.socket ?? undefined;
        this.#lifecycle.trySet("authenticating", "TLS established");
        return;
      case "close":
        // The server closed its stream: close ours and the socket; "disconnect" follows.
        this.#writer.flush();
        if (!this.#footerSent && this.#tls !== undefined && !this.#tls.destroyed) {
          this.#footerSent = true;
          this.#tls.end("</stream:stream>");
        }
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

  #goOnline(): void {
    const xmpp = this.#xmpp;
    if (xmpp === undefined || this.#lifecycle.state !== "authenticating") {
      throw new ConnectionClosedError("connection closed while coming online");
    }
    this.#fast = true;
    // Whitespace keepalives arrive as text directly under <stream:stream>: ignore them instead of letting
    // xmpp.js append them to the stream root for the life of the connection.
    const parser = xmpp.parser;
    if (parser !== null) {
      parser.parser.removeAllListeners("text");
      parser.parser.on("text", (text: string) => {
        const cursor = parser.cursor;
        if (cursor !== null && cursor !== parser.root) (cursor as unknown as { t(s: string): void }).t(text);
      });
    }
    this.#onlineAt = this.#options.clock.now();
    this.#jid = xmpp.jid?.toString();
    this.#lifecycle.set("online", `bound as ${this.#jid ?? "?"}`);
    const early = this.#early.splice(0);
    for (const incoming of early) this.#onIncoming(incoming);
    this.#armPing();
    this.#scheduleRoom();
  }

  #onFastElement(el: XmlElement, fallback: (el: XmlElement) => void, xmpp: XmppClient): void {
    switch (el.name) {
      case "message":
        this.#onIncoming(classifyMessage(el));
        return;
      case "iq":
        this.#onIq(el);
        return;
      default:
        // Stream errors and anything else: xmpp.js's own handling (it emits error and disconnects).
        fallback.call(xmpp, el);
    }
  }

  #onIncoming(incoming: Incoming): void {
    if (!this.#fast) {
      // Arrived between bind and online (e.g. queued upstream): handled once online.
      this.#early.push(incoming);
      return;
    }
    switch (incoming.kind) {
      case "answer": {
        const outcome = this.#window.settle(incoming.messageId, incoming.result);
        if (outcome === "unknown") {
          this.#log.warn({ messageId: incoming.messageId }, "answer for a message that is not pending here");
        }
        if (incoming.draining) this.drain("CONNECTION_DRAINING nack");
        if (this.#window.live === 0) this.#onIdle?.();
        this.#scheduleRoom();
        return;
      }
      case "control":
        if (incoming.controlType === CONNECTION_DRAINING) this.drain("CONNECTION_DRAINING control message");
        else this.#log.info({ controlType: incoming.controlType }, "ignored unknown control message");
        return;
      case "upstream":
      case "receipt":
        this.#deliverUpstream(incoming);
        return;
      case "ignored":
        this.#log.warn({ why: incoming.why }, "ignored incoming message");
        return;
    }
  }

  /** Hands an upstream message or receipt to the slot's sink (never left without a taker; see UpstreamSink). */
  #deliverUpstream(incoming: Extract<Incoming, { kind: "upstream" | "receipt" }>): void {
    const { from, messageId } = incoming;
    const delivery: UpstreamDelivery = {
      kind: incoming.kind,
      senderId: this.senderId,
      connectionId: this.id,
      from,
      messageId,
      ...(incoming.category !== undefined && { category: incoming.category }),
      payloadJson: incoming.payloadJson,
      receivedAt: this.#options.clock.now(),
      signal: this.#life.signal,
      ack: () => this.#ackUpstream(from, messageId),
      abandon: (reason) => this.#abandonUpstream(messageId, incoming.kind, reason),
    };
    try {
      this.#options.upstream(delivery);
    } catch (err) {
      // A sink must not throw; if one does, the message is not ACKed: CCS resends it on a new connection.
      this.#abandonUpstream(messageId, incoming.kind, `upstream sink failed: ${String(err)}`);
    }
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

  /** See ConnectionSlot.setSendGate: checked before every socket write of this connection. */
  setSendGate(gate: () => boolean): void {
    this.#sendGate = gate;
  }

  /**
   * The batch writer's sink. The send gate is checked here, at write time, not only when a stanza is
   * queued: a process frozen (SIGSTOP) between queueing and this write may have lost its slot lease
   * meanwhile. Then the chunk is dropped and the connection closes, settling its pending sends as lost.
   */
  #writeToSocket(chunk: string): boolean {
    if (this.#sendGate !== undefined && !this.#sendGate()) {
      if (!this.#gateClosed) {
        this.#gateClosed = true;
        this.#log.warn({}, "send gate closed (slot lease no longer valid): nothing more is written");
        queueMicrotask(() =>
          this.#teardown("send gate closed", new ConnectionClosedError("slot lease lost")),
        );
      }
      return true;
    }
    return this.#tls?.write(chunk) ?? true;
  }

  /** Queues a stanza for the batched socket write; false when the connection can no longer write. */
  #write(stanza: string): boolean {
    if (this.#lifecycle.state === "closed" || this.#writer.state === "closed" || this.#footerSent)
      return false;
    try {
      this.#writer.push(stanza);
      return true;
    } catch (err) {
      // WriterOverflowError: the socket has not drained megabytes; the connection is as good as dead.
      this.#teardown("write queue overflow", err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  }

  #ackUpstream(to: string, messageId: string): boolean {
    return this.#write(upstreamAckXml(to, messageId));
  }

  #onIq(el: XmlElement): void {
    const { type, id } = el.attrs;
    if (type === "get" && id !== undefined && el.getChild("ping", NS_PING) !== undefined) {
      this.#write(pongXml(id, el.attrs.from));
      return;
    }
    if ((type === "result" || type === "error") && id !== undefined && id === this.#pingId) {
      this.#pingId = undefined;
      if (this.#pingTimeout !== undefined) this.#options.clock.clearTimeout(this.#pingTimeout);
      this.#pingTimeout = undefined;
      return;
    }
    if (type === "get" || type === "set") {
      this.#write(serviceUnavailableXml(id ?? ""));
    }
  }

  /** Idle ping: when nothing was received or written for a whole interval, ping; no answer in time → lost. */
  #armPing(): void {
    const { pingIntervalMs, pingTimeoutMs, clock, domain } = this.#options;
    if (pingIntervalMs === 0) return;
    this.#pingTimer = clock.setTimeout(() => {
      this.#pingTimer = undefined;
      const state = this.#lifecycle.state;
      if (state !== "online" && state !== "draining") return;
      const activity = this.#received + this.#writer.writes + this.#writer.queuedBytes;
      if (activity === this.#activitySeen && this.#pingId === undefined) {
        this.#pingSeq++;
        const id = `ping-${this.#pingSeq}`;
        this.#pingId = id;
        this.#write(pingXml(id, domain));
        this.#pingTimeout = clock.setTimeout(() => {
          this.#pingTimeout = undefined;
          this.#log.warn({ pingTimeoutMs }, "no answer to XMPP ping: closing the connection");
          this.#teardown("ping timeout", new ConnectionClosedError("no answer to XMPP ping"));
        }, pingTimeoutMs);
      }
      this.#activitySeen = this.#received + this.#writer.writes + this.#writer.queuedBytes;
      this.#armPing();
    }, pingIntervalMs);
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
    const { clock } = this.#options;
    if (this.#pingTimer !== undefined) clock.clearTimeout(this.#pingTimer);
    if (this.#pingTimeout !== undefined) clock.clearTimeout(this.#pingTimeout);
    if (this.#drainTimer !== undefined) clock.clearTimeout(this.#drainTimer);
    this.#drainTimer = undefined;
    this.#pingTimer = undefined;
    this.#pingTimeout = undefined;
    this.#writer.close();
    const lost = this.#window.close(CONNECTION_CLOSED);
    if (this.#tls !== undefined && !this.#tls.destroyed) this.#tls.destroy();
    const xmpp = this.#xmpp;
    if (xmpp !== undefined && this.#tls === undefined) {
      // Failed before TLS was up: make sure xmpp.js's socket goes too.
      xmpp.socket?.socket?.destroy();
    }
    const wasOnline = this.#onlineAt !== undefined;
    const fields = { reason, lost, wasOnline, err: error && { name: error.name, message: error.message } };
    if (lost > 0) this.#log.warn(fields, "connection closed with sends pending: settled as lost");
    this.#lifecycle.set("closed", reason);
    this.#life.abort(new ConnectionClosedError(`connection closed: ${reason}`));
    this.#resolveClosed({ wasOnline, onlineAt: this.#onlineAt, reason, error });
  }
}
