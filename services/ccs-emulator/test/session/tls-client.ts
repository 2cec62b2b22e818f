/**
 * A small CCS test client over raw TLS: writes XML as given, parses what the server sends with
 * @ccs/ccs-protocol's StanzaReader, and lets a test wait (with a deadline) for what it expects.
 */
import { connect, type TLSSocket } from "node:tls";
import { type Element, gcmPayloadOf, StanzaReader } from "@ccs/ccs-protocol";

export const STREAM_OPEN =
  '<stream:stream to="gcm.googleapis.com" version="1.0" xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">';

export type Received =
  | { kind: "streamStart"; attrs: Record<string, string> }
  | { kind: "stanza"; el: Element; json?: Record<string, unknown> }
  | { kind: "streamEnd" };

export class TestClient {
  readonly socket: TLSSocket;
  readonly received: Received[] = [];
  raw = "";
  closed = false;
  readonly #reader = new StanzaReader({ maxStanzaBytes: 1024 * 1024 });
  #waiters: (() => void)[] = [];
  #seq = 0;

  private constructor(socket: TLSSocket) {
    this.socket = socket;
    this.#reader.on("streamStart", (attrs) => this.#add({ kind: "streamStart", attrs }));
    this.#reader.on("stanza", (el) => {
      const text = gcmPayloadOf(el);
      this.#add(text === undefined ? { kind: "stanza", el } : { kind: "stanza", el, json: JSON.parse(text) });
      if (el.is("success", "urn:ietf:params:xml:ns:xmpp-sasl")) this.#reader.reset();
    });
    this.#reader.on("streamEnd", () => this.#add({ kind: "streamEnd" }));
    socket.on("data", (chunk: Buffer) => {
      this.raw += chunk.toString("utf8");
      this.#reader.write(chunk);
      this.#wake();
    });
    socket.on("close", () => {
      this.closed = true;
      this.#wake();
    });
    socket.on("error", () => {});
  }

  static async connect(port: number, ca: string): Promise<TestClient> {
    const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost" });
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", () => resolve());
      socket.once("error", reject);
    });
    return new TestClient(socket);
  }

  send(xml: string): void {
    this.socket.write(xml);
  }

  nextId(prefix = "m"): string {
    this.#seq++;
    return `${prefix}-${process.pid}-${this.#seq}`;
  }

  /** The first received item (from `from` on) matching `match`; rejects after `timeoutMs`. */
  next<T extends Received>(
    match: (r: Received) => r is T,
    description: string,
    timeoutMs?: number,
    from?: number,
  ): Promise<T>;
  next(
    match: (r: Received) => boolean,
    description: string,
    timeoutMs?: number,
    from?: number,
  ): Promise<Received>;
  async next(
    match: (r: Received) => boolean,
    description: string,
    timeoutMs = 5000,
    from = 0,
  ): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.slice(from).find(match);
      if (found !== undefined) return found;
      if (this.closed)
        throw new Error(`connection closed while waiting for ${description}; got: ${this.raw.slice(-500)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${description}; got: ${this.raw.slice(-500)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  gcm(pred: (json: Record<string, unknown>) => boolean, description: string, timeoutMs = 5000) {
    return this.next(
      (r): r is Received & { kind: "stanza"; json: Record<string, unknown> } =>
        r.kind === "stanza" && r.json !== undefined && pred(r.json),
      description,
      timeoutMs,
    );
  }

  /** ACK or NACK of `messageId`. */
  async answer(messageId: string, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const r = await this.gcm(
      (j) => (j.message_type === "ack" || j.message_type === "nack") && j.message_id === messageId,
      `answer to ${messageId}`,
      timeoutMs,
    );
    return r.json;
  }

  sendDownstream(payload: Record<string, unknown>): string {
    const messageId = typeof payload.message_id === "string" ? payload.message_id : this.nextId();
    const json = JSON.stringify({ ...payload, message_id: messageId })
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;");
    this.send(`<message id="${messageId}"><gcm xmlns="google:mobile:data">${json}</gcm></message>`);
    return messageId;
  }

  ackUpstream(to: string, messageId: string): void {
    this.send(
      `<message id="${this.nextId("ack")}"><gcm xmlns="google:mobile:data">${JSON.stringify({ to, message_id: messageId, message_type: "ack" })}</gcm></message>`,
    );
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out waiting for the server to close the connection");
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Opens the stream and authenticates; resolves on <success/> (or rejects on failure). */
  async authenticate(authcid: string, key: string): Promise<void> {
    this.send(STREAM_OPEN);
    await this.next(isStanza("features"), "SASL features");
    const b64 = Buffer.from(`\u0000${authcid}\u0000${key}`, "utf8").toString("base64");
    this.send(`<auth mechanism="PLAIN" xmlns="urn:ietf:params:xml:ns:xmpp-sasl">${b64}</auth>`);
    const r = await this.next(
      (x): x is Received & { kind: "stanza"; el: Element } =>
        x.kind === "stanza" && (x.el.name === "success" || x.el.name === "failure"),
      "SASL outcome",
    );
    if (r.el.name !== "success") throw new Error("authentication failed");
  }

  /** Full login: stream, SASL PLAIN, restart, bind (returns the JID), session. */
  async login(senderId: string, key: string, resource?: string): Promise<string> {
    await this.authenticate(`${senderId}@gcm.googleapis.com`, key);
    const mark = this.received.length;
    this.send(STREAM_OPEN);
    await this.next(isStanza("features"), "bind features", 5000, mark);
    const res = resource === undefined ? "" : `<resource>${resource}</resource>`;
    this.send(`<iq type="set" id="bind1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind">${res}</bind></iq>`);
    const bound = await this.next(
      (x): x is Received & { kind: "stanza"; el: Element } =>
        x.kind === "stanza" && x.el.attrs.id === "bind1",
      "bind result",
    );
    this.send('<iq type="set" id="sess1"><session xmlns="urn:ietf:params:xml:ns:xmpp-session"/></iq>');
    await this.next(
      (x): x is Received & { kind: "stanza"; el: Element } =>
        x.kind === "stanza" && x.el.attrs.id === "sess1",
      "session result",
    );
    return bound.el.getChild("bind")?.getChildText("jid") ?? "";
  }

  close(): void {
    this.socket.destroy();
  }

  #add(r: Received): void {
    this.received.push(r);
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

export function isStanza(name: string) {
  return (r: Received): r is Received & { kind: "stanza"; el: Element } =>
    r.kind === "stanza" && r.el.getName() === name;
}

/** Polls `probe` until `ok` holds; rejects after `timeoutMs`. */
export async function eventually<T>(
  probe: () => T | Promise<T>,
  ok: (value: T) => boolean,
  description: string,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (ok(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${description}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
