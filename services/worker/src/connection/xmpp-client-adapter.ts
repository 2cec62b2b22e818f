/// <reference path="./xmpp-modules.d.ts" />
// The one place the connection layer reaches into @xmpp/client: the client is created with our
// credentials and TLS options, and some of its private methods are replaced so that, once the stream
// is set up, the read hot path bypasses xmpp.js's per-stanza machinery. Everything else sees only the
// small XmppClientAdapter interface below.
//
// Internals relied on (private members of @xmpp/connection / @xmpp/client-core / @xmpp/xml):
// `_onData` and `_onElement` (bound on first socket/parser attach, so they are replaced before connect),
// `socketParameters`, `reconnect.stop()`, `iqCaller.set`, `socket.socket` (the node:tls socket), and
// `parser` with its `root`, `cursor` and ltx `parser` emitter ("text" events).
// Checked against @xmpp/client 0.14.0 (all @xmpp/* packages 0.14.0; package.json range ^0.14.0).
// test/connection/xmpp-client-internals.test.ts fails when an upgrade moves or renames any of them.
import { once } from "node:events";
import { StringDecoder } from "node:string_decoder";
import type { TLSSocket } from "node:tls";
import { client, type XmlElement, type XmppClient, xml } from "@xmpp/client";
import { AuthenticationError } from "./errors.ts";
import type { ResolvedSlotOptions } from "./options.ts";
import { StanzaSplitter } from "./stanza-splitter.ts";
import { NS_SESSION } from "./wire.ts";

/** Largest incomplete stanza held while waiting for its end (CCS stanzas are a few KiB). */
export const MAX_PENDING_STANZA_CHARS = 1024 * 1024;

export type XmppClientSettings = Pick<
  ResolvedSlotOptions,
  "service" | "domain" | "connectTimeoutMs" | "senderId" | "apiKey"
>;

/** What the client reports to its connection: plain functions (called without `this`), given once. */
export interface XmppClientListener {
  /** The JSON of a plain gcm `<message>`, decoded straight from the stream text (the read hot path). */
  readonly gcm: (json: string) => void;
  /** Any other element xmpp.js's parser produced. Returns false to hand it on to xmpp.js's own handling. */
  readonly element: (el: XmlElement) => boolean;
  /** True once the connection is closed: socket data read after that is ignored. */
  readonly isClosed: () => boolean;
  /** Reading the server's stream failed (e.g. a stanza over MAX_PENDING_STANZA_CHARS). */
  readonly unreadable: (err: unknown) => void;
  /** xmpp.js's "error" event. */
  readonly error: (err: Error) => void;
  /** xmpp.js's "status" event: "connect" (TLS up), "close" (server ended its stream), "disconnect", … */
  readonly status: (status: string) => void;
}

/** The connection's view of its xmpp.js client. */
export interface XmppClientAdapter {
  /** Connects (direct TLS) and opens the stream; resolves once SASL and bind are done ("online"). */
  start(): Promise<void>;
  /** Establishes the (RFC 3921) session with an iq set; rejects when no answer comes within timeoutMs. */
  establishSession(timeoutMs: number): Promise<unknown>;
  /** The node:tls socket while connected. */
  readonly tlsSocket: TLSSocket | undefined;
  /** The full JID bound, once online. */
  readonly jid: string | undefined;
  /** From now on, text directly under `<stream:stream>` (whitespace keepalives) is dropped. */
  ignoreStreamText(): void;
  /** Destroys xmpp.js's socket, if it has one (for a failure before TLS was up). */
  destroySocket(): void;
}

function serviceUri(host: string, port: number): string {
  return `xmpps://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** Creates the client (nothing is connected yet) with every hook in place. */
export function createXmppClient(
  settings: XmppClientSettings,
  listener: XmppClientListener,
): XmppClientAdapter {
  return new PatchedXmppClient(settings, listener);
}

class PatchedXmppClient implements XmppClientAdapter {
  readonly #xmpp: XmppClient;
  readonly #settings: XmppClientSettings;

  constructor(settings: XmppClientSettings, listener: XmppClientListener) {
    this.#settings = settings;
    const { service, domain, connectTimeoutMs, senderId, apiKey } = settings;
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
    this.#xmpp = xmpp;
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
      { gcm: listener.gcm, parse: (text) => xmpp.parser?.write(text) },
      MAX_PENDING_STANZA_CHARS,
    );
    const { isClosed, unreadable, element } = listener;
    xmpp._onData = (data) => {
      // StringDecoder keeps a multi-byte character split across TCP chunks intact.
      const text = decoder.write(data);
      if (text.length === 0 || isClosed()) return;
      try {
        splitter.write(text);
      } catch (err) {
        unreadable(err);
      }
    };
    const onElement = xmpp._onElement;
    xmpp._onElement = (el) => {
      if (!element(el)) onElement.call(xmpp, el);
    };
    xmpp.on("error", listener.error);
    xmpp.on("status", listener.status);
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
  async start(): Promise<void> {
    const { service, domain } = this.#settings;
    const xmpp = this.#xmpp;
    await xmpp.connect(serviceUri(service.host, service.port));
    // node:events once() rejects on "error" like xmpp.js's promise(entity, "online") did.
    await Promise.all([once(xmpp, "online"), xmpp.open({ domain })]);
  }

  establishSession(timeoutMs: number): Promise<unknown> {
    return this.#xmpp.iqCaller.set(xml("session", { xmlns: NS_SESSION }), undefined, timeoutMs);
  }

  get tlsSocket(): TLSSocket | undefined {
    return this.#xmpp.socket?.socket ?? undefined;
  }

  get jid(): string | undefined {
    return this.#xmpp.jid?.toString();
  }

  ignoreStreamText(): void {
    // Whitespace keepalives arrive as text directly under <stream:stream>: ignore them instead of letting
    // xmpp.js append them to the stream root for the life of the connection.
    const parser = this.#xmpp.parser;
    if (parser === null) return;
    parser.parser.removeAllListeners("text");
    parser.parser.on("text", (text: string) => {
      const cursor = parser.cursor;
      if (cursor !== null && cursor !== parser.root) (cursor as unknown as { t(s: string): void }).t(text);
    });
  }

  destroySocket(): void {
    this.#xmpp.socket?.socket?.destroy();
  }
}
