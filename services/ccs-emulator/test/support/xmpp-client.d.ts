/**
 * The slice of @xmpp/client 0.14 (untyped JavaScript) the independent-client conformance test uses.
 */
declare module "@xmpp/client" {
  export interface Element {
    readonly name: string;
    readonly attrs: Record<string, string>;
    is(name: string, xmlns?: string): boolean;
    getChild(name: string, xmlns?: string): Element | undefined;
    getText(): string;
    toString(): string;
  }

  export interface Jid {
    toString(): string;
  }

  export interface XmppClient {
    start(): Promise<Jid>;
    stop(): Promise<unknown>;
    send(element: Element): Promise<void>;
    socketParameters(service: string): Record<string, unknown>;
    on(event: "online", listener: (address: Jid) => void): this;
    on(event: "stanza", listener: (stanza: Element) => void): this;
    on(event: "error", listener: (error: Error) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
    readonly reconnect: { stop(): void };
  }

  export interface ClientOptions {
    service: string;
    domain?: string;
    username?: string;
    password?: string;
    resource?: string;
  }

  export function client(options: ClientOptions): XmppClient;
  export function xml(
    name: string,
    attrs?: Record<string, string>,
    ...children: Array<Element | string>
  ): Element;
}
