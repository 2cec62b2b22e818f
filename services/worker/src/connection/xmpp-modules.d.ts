// Minimal typings for the parts of xmpp.js 0.14 the connection layer uses (the packages ship no types).
// Private members are used only by xmpp-client-adapter.ts; test/connection/xmpp-client-internals.test.ts
// checks them against the installed @xmpp/client.
// Elements are typed structurally (XmlElement) so these declarations never clash with other packages'.

declare module "@xmpp/client" {
  import type { EventEmitter } from "node:events";
  import type { TLSSocket } from "node:tls";

  export interface XmlElement {
    name: string;
    attrs: Record<string, string | undefined>;
    children: Array<XmlElement | string>;
    parent: XmlElement | null;
    getName(): string;
    getNS(): string | undefined;
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): XmlElement | undefined;
    getChildText(name: string, xmlns?: string): string | null;
    getText(): string;
    text(): string;
    toString(): string;
  }

  /** @xmpp/tls's socket wrapper; `socket` is the node:tls socket while connected. */
  export interface XmppSocket {
    socket: TLSSocket | null;
    secure: boolean;
  }

  export interface XmppParser {
    root: XmlElement | null;
    cursor: XmlElement | null;
    /** The ltx parser underneath (emits startElement/endElement/text). */
    parser: EventEmitter;
    write(data: string): void;
  }

  export type Authenticate = (
    credentials: { username: string; password: string },
    mechanism: string,
  ) => Promise<void>;

  export interface ClientOptions {
    service: string;
    domain: string;
    resource?: string;
    timeout?: number;
    credentials: (authenticate: Authenticate, mechanisms: string[]) => Promise<void>;
  }

  export interface IqCaller {
    set(element: XmlElement, to?: string, timeout?: number): Promise<XmlElement | undefined>;
  }

  export interface XmppClient extends EventEmitter {
    status: string;
    timeout: number;
    socket: XmppSocket | null;
    parser: XmppParser | null;
    jid: { toString(): string } | null;
    reconnect: { stop(): void };
    iqCaller: IqCaller;
    /** Use connect() + open() (see XmppCcsConnection#startStream): start() can leave a rejection unhandled. */
    connect(service: string): Promise<void>;
    /** Opens the stream; resolves on the server's stream header (or a later one), rejects on "error". */
    open(options: { domain: string; lang?: string }): Promise<unknown>;
    stop(): Promise<unknown>;
    send(element: XmlElement): Promise<void>;
    write(data: string): Promise<void>;
    socketParameters(service: string): Record<string, unknown> | undefined;
    /** Private: the socket's "data" listener (bound on first connect). */
    _onData(data: Buffer): void;
    /** Private: the parser's "element" listener (bound on first open). */
    _onElement(element: XmlElement): void;
  }

  export function client(options: ClientOptions): XmppClient;
  export function xml(
    name: string,
    attrs?: Record<string, string | undefined>,
    ...children: Array<XmlElement | string>
  ): XmlElement;
}
