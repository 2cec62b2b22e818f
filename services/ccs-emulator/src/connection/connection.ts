import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import {
  badRequest,
  CCS_DEVICES_JID,
  CCS_DOMAIN,
  type CcsStreamError,
  controlStanza,
  type Element,
  gcmMessageStanza,
  gcmPayloadOf,
  NACK_TEXTS,
  nackStanza,
  parseClientPayload,
  StanzaBatchWriter,
  StanzaReader,
  stanzaErrorStanza,
  validateDownstream,
  WriterOverflowError,
} from "@ccs/ccs-protocol";
import { IllegalStateError } from "../errors.ts";
import type { CounterPair } from "../stats.ts";
import type { UpstreamItem, UpstreamTarget } from "../upstream/router.ts";
import { DueQueue } from "./due-queue.ts";
import { fastAckStanza } from "./fast-ack.ts";
import type { Answer, ConnectionHub } from "./hub.ts";
import { decodePlain } from "./sasl.ts";
import {
  BIND_FEATURES,
  bindResult,
  iqResult,
  iqServiceUnavailable,
  KEEPALIVE,
  NS_BIND,
  NS_CLIENT,
  NS_PING,
  NS_SASL,
  NS_SESSION,
  NS_STREAM,
  NS_TLS,
  SASL_FAILURE_AND_CLOSE,
  SASL_FEATURES,
  SASL_SUCCESS,
  STARTTLS_FAILURE_AND_CLOSE,
  STREAM_CLOSE,
  StreamErrorCondition,
  streamErrorAndClose,
  streamHeader,
} from "./stanzas.ts";

/**
 * Lifecycle of one CCS connection:
 * connecting (TLS up, SASL) -> authenticated (stream restart, bind) -> online -> draining -> closed.
 */
export type ConnectionState = "connecting" | "authenticated" | "online" | "draining" | "closed";

const TRANSITIONS: Readonly<Record<ConnectionState, readonly ConnectionState[]>> = {
  connecting: ["authenticated", "closed"],
  authenticated: ["online", "closed"],
  online: ["draining", "closed"],
  draining: ["closed"],
  closed: [],
};

/** How a close ends the socket. */
export type CloseMode = "graceful" | "reset" | "destroy";

/** Stream error condition per @ccs/ccs-protocol reader error code (codes as data). */
const READER_ERROR_CONDITIONS: Readonly<Record<string, StreamErrorCondition>> = {
  CCS_STANZA_TOO_LARGE: StreamErrorCondition.PolicyViolation,
  CCS_STANZA_TOO_DEEP: StreamErrorCondition.PolicyViolation,
  CCS_UNSAFE_XML: StreamErrorCondition.RestrictedXml,
  CCS_XML_SYNTAX: StreamErrorCondition.NotWellFormed,
  CCS_INVALID_UTF8: StreamErrorCondition.UnsupportedEncoding,
  CCS_INVALID_XML_CHAR: StreamErrorCondition.NotWellFormed,
};

/** Time a client gets from the TLS handshake to a bound session; then `<connection-timeout/>`. */
export const LOGIN_TIMEOUT_MS = 30_000;
/** Pending downstream messages one connection may have, whatever the mode; past it `<policy-violation/>`. */
export const HARD_PENDING_CAP = 100_000;
/** Detail of the stanza error for a `<message>` without a `<gcm>` payload (composed). */
const MISSING_PAYLOAD_DETAIL = "Missing gcm payload";

/** Time the peer gets to close its side after ours before the socket is destroyed. */
export const CLOSE_LINGER_MS = 2000;

export interface ConnectionOptions {
  readonly id: string;
  readonly tls: TLSSocket;
  /** The TCP socket under `tls` (for abrupt resets). */
  readonly raw: Socket;
  readonly hub: ConnectionHub;
  readonly maxStanzaBytes: number;
  readonly keepaliveIntervalMs: number;
  readonly maxOutboundBytes: number;
}

export interface ConnectionView {
  id: string;
  senderId: string | null;
  resource: string | null;
  state: ConnectionState;
  pending: number;
  unackedUpstream: number;
  pendingViolations: number;
  openedAt: number;
  remoteAddress: string;
}

/** One XMPP session over TLS. All input handling is guarded: bad input ends this connection only. */
export class Connection implements UpstreamTarget {
  readonly id: string;
  readonly openedAt: number;
  readonly remoteAddress: string;
  #state: ConnectionState = "connecting";
  #senderId = "";
  #resource: string | null = null;
  #jid = "";
  #pending = 0;
  #violations = 0;
  #counters: CounterPair | null = null;
  #headerSent = false;
  #stopped = false;
  #writeBlocked = false;
  #upstreamSeq = 0;
  readonly #streamId = randomBytes(8).toString("hex");
  readonly #tls: TLSSocket;
  readonly #raw: Socket;
  readonly #hub: ConnectionHub;
  readonly #reader: StanzaReader;
  readonly #writer: StanzaBatchWriter;
  readonly #answers: DueQueue<Answer>;
  #keepalive: NodeJS.Timeout | null = null;
  #drainTimer: NodeJS.Timeout | null = null;
  #lingerTimer: NodeJS.Timeout | null = null;
  #loginTimer: NodeJS.Timeout | null = null;

  constructor(options: ConnectionOptions) {
    this.id = options.id;
    this.#tls = options.tls;
    this.#raw = options.raw;
    this.#hub = options.hub;
    this.openedAt = options.hub.clock();
    this.remoteAddress = `${options.raw.remoteAddress ?? "?"}:${options.raw.remotePort ?? "?"}`;
    this.#writer = new StanzaBatchWriter(this.#tls, {
      maxQueuedBytes: options.maxOutboundBytes,
      schedule: setImmediate,
      onError: (err) => {
        this.#hub.logger.debug({ connectionId: this.id, err: String(err) }, "socket write failed");
        this.close("destroy");
      },
    });
    this.#answers = new DueQueue((answer) => this.#guard(() => this.#answer(answer)), options.hub.clock);
    this.#reader = new StanzaReader({ maxStanzaBytes: options.maxStanzaBytes });
    this.#reader.on("streamStart", (attrs: Record<string, string>) =>
      this.#guard(() => this.#onStreamStart(attrs)),
    );
    this.#reader.on("stanza", (el: Element) => this.#guard(() => this.#onStanza(el)));
    this.#reader.on("streamEnd", () => this.#guard(() => this.close("graceful", STREAM_CLOSE)));
    this.#reader.on("error", (err: CcsStreamError) => this.#onReaderError(err));
    this.#tls.on("data", (chunk: Buffer) => this.#guard(() => this.#reader.write(chunk)));
    this.#tls.on("drain", () => this.#onDrain());
    this.#tls.on("error", (err: Error) => {
      this.#hub.logger.debug({ connectionId: this.id, err: err.message }, "socket error");
      this.close("destroy");
    });
    this.#tls.on("close", () => this.close("destroy"));
    if (options.keepaliveIntervalMs > 0) {
      this.#keepalive = setInterval(() => {
        if (this.#headerSent && this.#state !== "closed") this.#push(KEEPALIVE);
      }, options.keepaliveIntervalMs);
    }
    this.#loginTimer = setTimeout(() => {
      if (this.#state === "connecting" || this.#state === "authenticated") {
        this.#streamError(StreamErrorCondition.ConnectionTimeout);
      }
    }, LOGIN_TIMEOUT_MS);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The authenticated sender ("" before authentication). */
  get senderId(): string {
    return this.#senderId;
  }

  /** Counters of this connection's sender (null before authentication). */
  get counters(): CounterPair | null {
    return this.#counters;
  }

  get pending(): number {
    return this.#pending;
  }

  get pendingViolations(): number {
    return this.#violations;
  }

  get resource(): string | null {
    return this.#resource;
  }

  view(unackedUpstream: number): ConnectionView {
    return {
      id: this.id,
      senderId: this.#senderId === "" ? null : this.#senderId,
      resource: this.#resource,
      state: this.#state,
      pending: this.#pending,
      unackedUpstream,
      pendingViolations: this.#violations,
      openedAt: this.openedAt,
      remoteAddress: this.remoteAddress,
    };
  }

  acceptsUpstream(): boolean {
    return this.#state === "online" && !this.#writeBlocked;
  }

  writeUpstream(item: UpstreamItem): void {
    this.#upstreamSeq++;
    this.#push(
      gcmMessageStanza(item.json, {
        id: `${this.id}-${this.#upstreamSeq}`,
        to: `${this.#senderId}@${CCS_DOMAIN}`,
        from: CCS_DEVICES_JID,
        type: "normal",
      }),
    );
  }

  /**
   * Sends CONNECTION_DRAINING: new downstream gets a CONNECTION_DRAINING NACK, pending ones are still
   * answered, no more upstream; the stream is closed after `graceMs`. False when not online.
   */
  drain(graceMs: number): boolean {
    if (this.#state !== "online") return false;
    this.#setState("draining");
    this.#push(controlStanza("CONNECTION_DRAINING", { prefixed: true }));
    this.#counters?.inc("drainsSent");
    this.#drainTimer = setTimeout(() => this.close("graceful", STREAM_CLOSE), graceMs);
    return true;
  }

  /** Fault: stop (or resume) reading the socket. */
  setStopReading(stopped: boolean): void {
    if (this.#stopped === stopped || this.#state === "closed") return;
    this.#stopped = stopped;
    if (stopped) this.#tls.pause();
    else if (!this.#writeBlocked) this.#tls.resume();
  }

  /**
   * Ends the connection; idempotent. `graceful` writes `tail` (e.g. `</stream:stream>`) and ends the
   * socket, `reset` sends a TCP RST, `destroy` drops the socket. Every cleanup runs whatever fails.
   */
  close(mode: CloseMode, tail?: string): void {
    if (this.#state === "closed") return;
    const previous = this.#state;
    this.#setState("closed");
    const steps: (() => void)[] = [
      () => this.#keepalive !== null && clearInterval(this.#keepalive),
      () => this.#drainTimer !== null && clearTimeout(this.#drainTimer),
      () => this.#loginTimer !== null && clearTimeout(this.#loginTimer),
      () => this.#answers.clear(),
      () => {
        if (mode === "graceful") {
          let out = "";
          if (tail !== undefined) {
            if (!this.#headerSent && tail !== STREAM_CLOSE) out = streamHeader(this.#streamId);
            out += tail;
          }
          this.#writer.flush();
          const unsent = this.#writer.close().join("");
          this.#tls.end(unsent + out);
          this.#lingerTimer = setTimeout(() => this.#raw.destroy(), CLOSE_LINGER_MS);
          this.#lingerTimer.unref();
        } else if (mode === "reset") {
          this.#writer.close();
          this.#raw.resetAndDestroy();
          this.#tls.destroy();
        } else {
          this.#writer.close();
          this.#tls.destroy();
          this.#raw.destroy();
        }
      },
      () => this.#hub.closed(this, this.#pending),
    ];
    for (const step of steps) {
      try {
        step();
      } catch (err) {
        this.#hub.logger.warn({ connectionId: this.id, previous, err: String(err) }, "cleanup step failed");
      }
    }
  }

  /** Stops the linger timer once the socket is really gone (called by the listener). */
  disposed(): void {
    if (this.#lingerTimer !== null) clearTimeout(this.#lingerTimer);
  }

  #setState(next: ConnectionState): void {
    if (!TRANSITIONS[this.#state].includes(next)) {
      throw new IllegalStateError(`connection ${this.id}: ${this.#state} -> ${next} is not allowed`);
    }
    this.#hub.logger.debug({ connectionId: this.id, from: this.#state, to: next }, "connection state");
    this.#state = next;
  }

  #guard(fn: () => void): void {
    if (this.#state === "closed") return;
    try {
      fn();
    } catch (err) {
      this.#hub.logger.error({ connectionId: this.id, err: String(err) }, "internal error handling input");
      this.#streamError(StreamErrorCondition.InternalServerError);
    }
  }

  /** Queues one stanza; a client that lets too much pile up unread is cut off. */
  #push(xml: string): void {
    if (this.#state === "closed") return;
    try {
      this.#writer.push(xml);
    } catch (err) {
      if (!(err instanceof WriterOverflowError)) throw err;
      this.#hub.logger.warn({ connectionId: this.id }, "client too slow reading: connection dropped");
      this.close("destroy");
      return;
    }
    if (this.#writer.backpressured && !this.#writeBlocked) {
      this.#writeBlocked = true;
      this.#tls.pause();
    }
  }

  #onDrain(): void {
    if (!this.#writeBlocked || this.#state === "closed") return;
    this.#writeBlocked = false;
    if (!this.#stopped) this.#tls.resume();
    this.#hub.upstreamReady(this);
  }

  #onReaderError(err: CcsStreamError): void {
    if (this.#state === "closed") return;
    this.#hub.logger.debug({ connectionId: this.id, code: err.code }, "bad XML stream");
    this.#streamError(READER_ERROR_CONDITIONS[err.code] ?? StreamErrorCondition.NotWellFormed);
  }

  #streamError(condition: StreamErrorCondition): void {
    this.#counters?.inc("streamErrors");
    this.close("graceful", streamErrorAndClose(condition));
  }

  #onStreamStart(attrs: Record<string, string>): void {
    if (attrs["xmlns:stream"] !== NS_STREAM || attrs.xmlns !== NS_CLIENT) {
      this.#streamError(StreamErrorCondition.InvalidNamespace);
      return;
    }
    if (this.#state === "connecting" && !this.#headerSent) {
      this.#headerSent = true;
      this.#push(streamHeader(this.#streamId) + SASL_FEATURES);
    } else if (this.#state === "authenticated") {
      this.#headerSent = true;
      this.#push(streamHeader(randomBytes(8).toString("hex")) + BIND_FEATURES);
    } else {
      this.#streamError(StreamErrorCondition.NotWellFormed);
    }
  }

  #onStanza(el: Element): void {
    if (this.#state === "connecting") {
      if (el.is("auth", NS_SASL)) this.#onAuth(el);
      else if (el.is("starttls", NS_TLS)) this.close("graceful", STARTTLS_FAILURE_AND_CLOSE);
      else this.#streamError(StreamErrorCondition.NotAuthorized);
      return;
    }
    switch (el.name) {
      case "message":
        if (this.#state === "online" || this.#state === "draining") this.#onMessage(el);
        else this.#streamError(StreamErrorCondition.NotAuthorized);
        return;
      case "iq":
        this.#onIq(el);
        return;
      case "presence":
        if (this.#state === "authenticated") this.#streamError(StreamErrorCondition.NotAuthorized);
        return;
      default:
        this.#streamError(StreamErrorCondition.UnsupportedStanzaType);
    }
  }

  #onAuth(el: Element): void {
    const credentials = el.attrs.mechanism === "PLAIN" ? decodePlain(el.getText()) : null;
    const outcome = this.#hub.authenticate(this, credentials);
    if (outcome.kind !== "ok" || credentials === null) {
      this.close("graceful", SASL_FAILURE_AND_CLOSE);
      return;
    }
    this.#senderId = credentials.senderId;
    this.#counters = outcome.counters;
    this.#setState("authenticated");
    this.#push(SASL_SUCCESS);
    this.#headerSent = false;
    this.#reader.reset();
  }

  #onIq(el: Element): void {
    const id = el.attrs.id ?? "";
    const type = el.attrs.type;
    if (type === "result" || type === "error") return;
    const bind = el.getChild("bind", NS_BIND);
    if (bind !== undefined && type === "set" && this.#state === "authenticated") {
      const requested = bind.getChildText("resource")?.trim();
      this.#resource =
        requested !== undefined && requested !== "" ? requested : randomBytes(6).toString("hex");
      this.#jid = `${this.#senderId}@${CCS_DOMAIN}/${this.#resource}`;
      this.#push(bindResult(id, this.#jid));
      this.#setState("online");
      if (this.#loginTimer !== null) clearTimeout(this.#loginTimer);
      this.#hub.bound(this);
      return;
    }
    if (el.getChild("session", NS_SESSION) !== undefined && type === "set") {
      this.#push(iqResult(id, undefined));
      return;
    }
    if (el.getChild("ping", NS_PING) !== undefined && type === "get") {
      this.#push(iqResult(id, el.attrs.to));
      return;
    }
    if (this.#state === "authenticated") {
      this.#streamError(StreamErrorCondition.NotAuthorized);
      return;
    }
    this.#push(iqServiceUnavailable(id));
  }

  #onMessage(el: Element): void {
    const counters = this.#counters;
    if (counters === null) return;
    const json = gcmPayloadOf(el);
    if (json === undefined) {
      counters.inc("stanzaErrors");
      this.#push(
        stanzaErrorStanza(
          { id: el.attrs.id, to: this.#jid },
          "",
          badRequest(NACK_TEXTS.malformedJson(MISSING_PAYLOAD_DETAIL)),
        ),
      );
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      value = json;
    }
    if (typeof value === "object" && value !== null && Object.hasOwn(value, "message_type")) {
      this.#onClientControl(json);
      return;
    }
    // Hot path: named increments (inc's keyed access is megamorphic).
    counters.global.downstreamReceived++;
    counters.sender.downstreamReceived++;
    const result = validateDownstream(value);
    if (result.ok) {
      this.#queueAnswer(this.#hub.decide(this, result.request));
      return;
    }
    const rejection = result.rejection;
    if (rejection.kind === "stanza-error") {
      counters.inc("stanzaErrors");
      this.#push(stanzaErrorStanza({ id: el.attrs.id, to: this.#jid }, json, rejection.error));
      return;
    }
    const messageId = result.messageId ?? "";
    const to = result.to ?? "";
    // A draining connection takes nothing new: CONNECTION_DRAINING wins over any other NACK.
    this.#queueAnswer(
      this.#state === "draining"
        ? this.#hub.rejected(messageId, to, "CONNECTION_DRAINING", NACK_TEXTS.connectionDraining())
        : this.#hub.rejected(messageId, to, rejection.code, rejection.description),
    );
  }

  /** Payloads with a message_type: ACKs of upstream messages and receipts; unknown types are ignored. */
  #onClientControl(json: string): void {
    const message = parseClientPayload(json);
    if (message.kind === "upstream-ack") {
      this.#hub.upstreamAck(this, message.to, message.messageId);
    } else if (message.kind === "bad-ack") {
      this.#counters?.nack("BAD_ACK");
      const to = typeof message.payload.to === "string" ? message.payload.to : "";
      this.#push(nackStanza(to, message.messageId ?? "", "BAD_ACK", NACK_TEXTS.badAck()));
    }
  }

  #queueAnswer(answer: Answer): void {
    this.#pending++;
    if (this.#pending > HARD_PENDING_CAP) {
      // Bounded even in counting mode: a client ignoring the window this much is cut off.
      this.#counters?.inc("pendingViolations");
      this.#streamError(StreamErrorCondition.PolicyViolation);
      return;
    }
    if (this.#pending > this.#hub.settings.pendingLimit) {
      this.#violations++;
      this.#counters?.inc("pendingViolations");
      if (this.#hub.settings.strictPendingLimit) {
        this.#streamError(StreamErrorCondition.PolicyViolation);
        return;
      }
    }
    const delay = this.#hub.answerDelay();
    if (delay === 0) this.#answer(answer);
    else this.#answers.schedule(this.#hub.clock() + delay, answer);
  }

  #answer(answer: Answer): void {
    if (this.#state === "closed") return;
    if (!answer.drop) {
      this.#pending--;
      this.#push(
        answer.code === null
          ? fastAckStanza(answer.to, answer.messageId, answer.registrationId)
          : nackStanza(answer.to, answer.messageId, answer.code, answer.description),
      );
    }
    // After the ACK: the device gets the message (and its receipt is queued) once CCS accepted it.
    this.#hub.answered(this, answer);
  }
}
