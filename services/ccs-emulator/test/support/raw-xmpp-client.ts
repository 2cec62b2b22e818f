/**
 * A raw XMPP-over-TLS client for the conformance suite. It speaks bytes on node:tls and reads the
 * server's stream with this folder's own splitter: no project client code, no @ccs/ccs-protocol.
 *
 * Everything the server writes is recorded (`receivedBytes()`), cut into top-level items and put in a
 * mailbox; `next(predicate, timeoutMs)` takes the first item matching, waiting up to the deadline.
 * Items that do not match stay in the mailbox for later calls, so tests do not depend on the
 * interleaving of ACKs, receipts and keepalives.
 */
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import { StringDecoder } from "node:string_decoder";
import tls from "node:tls";
import {
  child,
  escapeAttr,
  escapeText,
  NS,
  type StreamItem,
  StreamSplitter,
  type XmlElement,
} from "./xml.ts";

export const GCM_DOMAIN = "gcm.googleapis.com";
/** Default deadline of every wait in this client. */
export const DEFAULT_TIMEOUT_MS = 5_000;

/** Milliseconds; a named type so deadlines read as such in signatures. */
export type TimeoutMs = number;

export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly caPem: string;
}

export interface Credentials {
  readonly senderId: string;
  readonly apiKey: string;
}

export type ClientItem =
  | StreamItem
  | { readonly kind: "closed"; readonly hadError: boolean; readonly error: string | undefined };

export type StanzaItem = Extract<StreamItem, { kind: "stanza" }>;

/** A `<message>` carrying a `gcm` element in the `google:mobile:data` namespace, JSON decoded. */
export interface GcmMessage {
  readonly raw: string;
  readonly el: XmlElement;
  readonly gcm: XmlElement;
  readonly json: Record<string, unknown>;
}

/** A wait reached its deadline. Carries the tail of what the server wrote, for the failure message. */
export class ClientTimeoutError extends Error {
  readonly description: string;
  readonly timeoutMs: TimeoutMs;
  constructor(description: string, timeoutMs: TimeoutMs, tail: string) {
    super(`timed out after ${timeoutMs} ms waiting for ${description}; last bytes received: ${tail}`);
    this.name = "ClientTimeoutError";
    this.description = description;
    this.timeoutMs = timeoutMs;
  }
}

/** The connection closed while a wait was still looking for its item. */
export class ConnectionClosedError extends Error {
  readonly description: string;
  constructor(description: string, tail: string) {
    super(`connection closed while waiting for ${description}; last bytes received: ${tail}`);
    this.name = "ConnectionClosedError";
    this.description = description;
  }
}

/** SASL answered `<failure>` where the caller needed `<success/>`. */
export class AuthFailedError extends Error {
  readonly raw: string;
  constructor(raw: string) {
    super(`authentication failed: ${raw}`);
    this.name = "AuthFailedError";
    this.raw = raw;
  }
}

export const STREAM_HEADER =
  `<stream:stream to="${GCM_DOMAIN}" version="1.0" xmlns="jabber:client" ` +
  `xmlns:stream="http://etherx.jabber.org/streams">`;

/** base64 of `\0AUTHCID\0KEY`, the SASL PLAIN message CCS expects (authcid `ID@gcm.googleapis.com`). */
export function plainAuthPayload(authcid: string, apiKey: string): string {
  return Buffer.from(`\u0000${authcid}\u0000${apiKey}`, "utf8").toString("base64");
}

export function isGcmMessage(item: ClientItem): boolean {
  return item.kind === "stanza" && item.el.local === "message" && gcmChild(item.el) !== undefined;
}

export function gcmChild(el: XmlElement): XmlElement | undefined {
  return child(el, "gcm", NS.gcm);
}

/** Decodes a stanza as a GCM message; `undefined` when it is not one or its JSON does not parse. */
export function asGcm(item: ClientItem): GcmMessage | undefined {
  if (item.kind !== "stanza" || item.el.local !== "message") return undefined;
  const gcm = gcmChild(item.el);
  if (gcm === undefined) return undefined;
  try {
    const json: unknown = JSON.parse(gcm.text);
    if (json === null || typeof json !== "object" || Array.isArray(json)) return undefined;
    return { raw: item.raw, el: item.el, gcm, json: json as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

export class RawXmppClient {
  readonly socket: tls.TLSSocket;
  /** Every item read, in order (the mailbox is a subset of it). */
  readonly history: ClientItem[] = [];
  readonly #chunks: Buffer[] = [];
  readonly #decoder = new StringDecoder("utf8");
  readonly #splitter = new StreamSplitter();
  #mailbox: ClientItem[] = [];
  readonly #wakers = new Set<() => void>();
  #closed = false;
  #idCounter = 0;
  /** Makes generated ids unique across clients (message_id must be unique per sender ID, 000). */
  readonly #idPrefix = randomBytes(4).toString("hex");
  /** Full JID from the bind result, once bound. */
  jid: string | undefined;

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.on("data", (data: Buffer) => {
      this.#chunks.push(data);
      for (const item of this.#splitter.push(this.#decoder.write(data))) this.#deliver(item);
    });
    let error: string | undefined;
    socket.on("error", (err: Error) => {
      error = err.message;
    });
    socket.on("close", (hadError: boolean) => {
      this.#closed = true;
      this.#deliver({ kind: "closed", hadError, error });
    });
  }

  /** Opens a TLS connection trusting `caPem`; resolves once the handshake is done. */
  static connect(
    endpoint: Endpoint,
    options: { timeoutMs?: TimeoutMs; servername?: string } = {},
  ): Promise<RawXmppClient> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const socket = tls.connect({
        host: endpoint.host,
        port: endpoint.port,
        ca: endpoint.caPem,
        ...(options.servername === undefined ? {} : { servername: options.servername }),
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`TLS connect to ${endpoint.host}:${endpoint.port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      const onError = (err: Error): void => {
        clearTimeout(timer);
        reject(err);
      };
      socket.once("error", onError);
      socket.once("secureConnect", () => {
        clearTimeout(timer);
        socket.off("error", onError);
        resolve(new RawXmppClient(socket));
      });
    });
  }

  /** Connects, authenticates with PLAIN, restarts, binds and opens the session. */
  static async online(
    endpoint: Endpoint,
    creds: Credentials,
    options: { resource?: string; bareId?: boolean; timeoutMs?: TimeoutMs } = {},
  ): Promise<RawXmppClient> {
    const client = await RawXmppClient.connect(endpoint, options);
    try {
      await client.login(creds, options);
    } catch (err) {
      client.destroy();
      throw err;
    }
    return client;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Everything the server wrote so far, byte for byte. */
  receivedBytes(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  receivedText(): string {
    return this.receivedBytes().toString("utf8");
  }

  nextId(prefix = "t"): string {
    this.#idCounter += 1;
    return `${prefix}${this.#idPrefix}-${this.#idCounter}`;
  }

  /** Writes and resolves once the data is handed to the kernel (rejects if the socket is gone). */
  send(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.destroyed) {
        reject(new Error("socket destroyed"));
        return;
      }
      this.socket.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Takes the first item in the mailbox matching `predicate`, waiting up to `timeoutMs`. */
  async next(
    predicate: (item: ClientItem) => boolean,
    timeoutMs: TimeoutMs = DEFAULT_TIMEOUT_MS,
    description = "a matching item",
  ): Promise<ClientItem> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.#mailbox.findIndex(predicate);
      if (index >= 0) {
        const [item] = this.#mailbox.splice(index, 1);
        if (item !== undefined) return item;
      }
      if (this.#closed) throw new ConnectionClosedError(description, this.#tail());
      const left = deadline - Date.now();
      if (left <= 0) throw new ClientTimeoutError(description, timeoutMs, this.#tail());
      await this.#changed(left);
    }
  }

  /** True when an item matching `predicate` is already in the mailbox (it is not taken). */
  has(predicate: (item: ClientItem) => boolean): boolean {
    return this.#mailbox.some(predicate);
  }

  /** Items still in the mailbox (for assertions that something did NOT arrive). */
  pending(): readonly ClientItem[] {
    return [...this.#mailbox];
  }

  async stanza(
    predicate: (el: XmlElement, raw: string) => boolean = () => true,
    timeoutMs: TimeoutMs = DEFAULT_TIMEOUT_MS,
    description = "a stanza",
  ): Promise<StanzaItem> {
    const item = await this.next(
      (i) => i.kind === "stanza" && predicate(i.el, i.raw),
      timeoutMs,
      description,
    );
    return item as StanzaItem;
  }

  /** Next GCM message whose JSON matches. */
  async gcm(
    predicate: (json: Record<string, unknown>, msg: GcmMessage) => boolean = () => true,
    timeoutMs: TimeoutMs = DEFAULT_TIMEOUT_MS,
    description = "a gcm message",
  ): Promise<GcmMessage> {
    const item = await this.next(
      (i) => {
        const m = asGcm(i);
        return m !== undefined && predicate(m.json, m);
      },
      timeoutMs,
      description,
    );
    const m = asGcm(item);
    if (m === undefined) throw new Error("unreachable: matched item is not a gcm message");
    return m;
  }

  /** The ACK or NACK answering downstream `messageId`. */
  answer(messageId: string, timeoutMs: TimeoutMs = DEFAULT_TIMEOUT_MS): Promise<GcmMessage> {
    return this.gcm(
      (j) => (j.message_type === "ack" || j.message_type === "nack") && j.message_id === messageId,
      timeoutMs,
      `ACK/NACK for ${messageId}`,
    );
  }

  /** The ACK or NACK, or the stanza error echoing `stanzaId`. */
  async answerOrError(
    messageId: string,
    stanzaId: string,
    timeoutMs: TimeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<StanzaItem> {
    const item = await this.next(
      (i) => {
        if (i.kind !== "stanza" || i.el.local !== "message") return false;
        if (i.el.attrs.type === "error") return i.el.attrs.id === stanzaId;
        const m = asGcm(i);
        return (
          m !== undefined &&
          (m.json.message_type === "ack" || m.json.message_type === "nack") &&
          m.json.message_id === messageId
        );
      },
      timeoutMs,
      `answer or stanza error for ${messageId}`,
    );
    return item as StanzaItem;
  }

  /** The stanza error (`type="error"` message) echoing stanza id `stanzaId`. */
  stanzaError(stanzaId: string, timeoutMs: TimeoutMs = DEFAULT_TIMEOUT_MS): Promise<StanzaItem> {
    return this.stanza(
      (el) => el.local === "message" && el.attrs.type === "error" && el.attrs.id === stanzaId,
      timeoutMs,
      `stanza error for id ${stanzaId}`,
    );
  }

  /** `<stream:error>`; resolves with the stanza. */
  streamError(timeoutMs: TimeoutMs = DEFAULT_TIMEOUT_MS): Promise<StanzaItem> {
    return this.stanza((el) => el.local === "error" && el.ns === NS.stream, timeoutMs, "a stream error");
  }

  /** Resolves when the socket has closed (the server closed it, or it was reset). */
  async waitClosed(
    timeoutMs: TimeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<Extract<ClientItem, { kind: "closed" }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const item = this.history.find((i) => i.kind === "closed");
      if (item !== undefined && item.kind === "closed") return item;
      const left = deadline - Date.now();
      if (left <= 0) throw new ClientTimeoutError("the connection to close", timeoutMs, this.#tail());
      await this.#changed(left);
    }
  }

  // ---- handshake -------------------------------------------------------------------------------

  /** Sends the stream header; resolves with the server's header and its features stanza. */
  async openStream(
    header: string = STREAM_HEADER,
    timeoutMs: TimeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<{ header: Extract<StreamItem, { kind: "stream-open" }>; features: StanzaItem }> {
    await this.send(header);
    const open = await this.next((i) => i.kind === "stream-open", timeoutMs, "the stream header");
    const features = await this.stanza(
      (el) => el.local === "features" && el.ns === NS.stream,
      timeoutMs,
      "stream features",
    );
    return { header: open as Extract<StreamItem, { kind: "stream-open" }>, features };
  }

  /** Sends PLAIN auth and returns the server's `<success/>` or `<failure>` stanza. */
  async auth(
    creds: Credentials,
    options: { bareId?: boolean; timeoutMs?: TimeoutMs } = {},
  ): Promise<StanzaItem> {
    const authcid = options.bareId === true ? creds.senderId : `${creds.senderId}@${GCM_DOMAIN}`;
    await this.send(
      `<auth mechanism="PLAIN" xmlns="urn:ietf:params:xml:ns:xmpp-sasl">${plainAuthPayload(authcid, creds.apiKey)}</auth>`,
    );
    return this.stanza(
      (el) => el.ns === NS.sasl && (el.local === "success" || el.local === "failure"),
      options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      "SASL success or failure",
    );
  }

  /** Binds `resource` (server-chosen when omitted); returns the full JID. */
  async bind(resource?: string, timeoutMs: TimeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
    const id = this.nextId("bind");
    const inner = resource === undefined ? "" : `<resource>${escapeText(resource)}</resource>`;
    await this.send(
      `<iq type="set" id="${id}"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind">${inner}</bind></iq>`,
    );
    const result = await this.stanza(
      (el) => el.local === "iq" && el.attrs.id === id,
      timeoutMs,
      `bind result ${id}`,
    );
    const jid = child(result.el, "bind", NS.bind)?.children.find((c) => c.local === "jid")?.text;
    if (result.el.attrs.type !== "result" || jid === undefined) {
      throw new Error(`bind failed: ${result.raw}`);
    }
    this.jid = jid;
    return jid;
  }

  async session(timeoutMs: TimeoutMs = DEFAULT_TIMEOUT_MS): Promise<StanzaItem> {
    const id = this.nextId("sess");
    await this.send(`<iq type="set" id="${id}"><session xmlns="urn:ietf:params:xml:ns:xmpp-session"/></iq>`);
    return this.stanza((el) => el.local === "iq" && el.attrs.id === id, timeoutMs, `session result ${id}`);
  }

  /** XMPP ping; resolves with the result iq. A round trip: everything the server wrote before it has arrived. */
  async ping(timeoutMs: TimeoutMs = DEFAULT_TIMEOUT_MS): Promise<StanzaItem> {
    const id = this.nextId("ping");
    await this.send(`<iq type="get" id="${id}"><ping xmlns="urn:xmpp:ping"/></iq>`);
    return this.stanza((el) => el.local === "iq" && el.attrs.id === id, timeoutMs, `ping result ${id}`);
  }

  /** Whole handshake: header, PLAIN, restart, bind, session. Returns the bound JID. */
  async login(
    creds: Credentials,
    options: { resource?: string; bareId?: boolean; timeoutMs?: TimeoutMs } = {},
  ): Promise<string> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    await this.openStream(STREAM_HEADER, timeoutMs);
    const result = await this.auth(creds, { bareId: options.bareId ?? false, timeoutMs });
    if (result.el.local !== "success") throw new AuthFailedError(result.raw);
    await this.openStream(STREAM_HEADER, timeoutMs);
    const jid = await this.bind(options.resource, timeoutMs);
    const session = await this.session(timeoutMs);
    if (session.el.attrs.type !== "result") throw new Error(`session failed: ${session.raw}`);
    return jid;
  }

  // ---- CCS messages ----------------------------------------------------------------------------

  /** Sends raw JSON text in `<message id=..><gcm xmlns="google:mobile:data">` (text escaped for XML). */
  sendGcmText(json: string, options: { stanzaId?: string; quoteEntities?: boolean } = {}): Promise<void> {
    const body = options.quoteEntities === true ? escapeAttr(json) : escapeText(json);
    const idAttr = options.stanzaId === undefined ? "" : ` id="${escapeAttr(options.stanzaId)}"`;
    return this.send(`<message${idAttr}><gcm xmlns="google:mobile:data">${body}</gcm></message>`);
  }

  /** Downstream message; returns its message_id (generated when the payload has none). */
  async sendDownstream(
    payload: Record<string, unknown>,
    options: { stanzaId?: string; quoteEntities?: boolean } = {},
  ): Promise<string> {
    const messageId = typeof payload.message_id === "string" ? payload.message_id : this.nextId("m-");
    await this.sendGcmText(JSON.stringify({ ...payload, message_id: messageId }), {
      stanzaId: options.stanzaId ?? messageId,
      ...(options.quoteEntities === undefined ? {} : { quoteEntities: options.quoteEntities }),
    });
    return messageId;
  }

  /** Sends a downstream message and waits for its ACK/NACK. */
  async request(
    payload: Record<string, unknown>,
    timeoutMs: TimeoutMs = DEFAULT_TIMEOUT_MS,
  ): Promise<GcmMessage> {
    const id = await this.sendDownstream(payload);
    return this.answer(id, timeoutMs);
  }

  /** ACKs an upstream message or receipt: `{"to":FROM,"message_id":ID,"message_type":"ack"}`. */
  ackUpstream(to: string, messageId: string): Promise<void> {
    return this.sendGcmText(JSON.stringify({ to, message_id: messageId, message_type: "ack" }), {
      stanzaId: this.nextId("ack"),
    });
  }

  /** Closes the stream politely and waits for the socket to close (destroys it after the deadline). */
  async close(timeoutMs: TimeoutMs = 2_000): Promise<void> {
    if (this.#closed) return;
    try {
      if (!this.socket.destroyed && this.socket.writable) this.socket.end("</stream:stream>");
      await this.waitClosed(timeoutMs);
    } catch {
      // The deadline passed: fall through to destroy, which always closes.
    } finally {
      this.destroy();
    }
  }

  destroy(): void {
    if (!this.socket.destroyed) this.socket.destroy();
  }

  #deliver(item: ClientItem): void {
    this.history.push(item);
    this.#mailbox.push(item);
    const wakers = [...this.#wakers];
    this.#wakers.clear();
    for (const wake of wakers) wake();
  }

  /** Resolves on the next item read, or after `ms`. */
  #changed(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakers.add(wake);
    });
  }

  #tail(): string {
    const text = this.receivedText();
    return JSON.stringify(text.length > 600 ? `…${text.slice(-600)}` : text);
  }
}
