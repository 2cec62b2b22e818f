// Where each thing the server sends goes on one connection: answers settle the pending window,
// CONNECTION_DRAINING drains, upstream messages and receipts go to the upstream sink, pings are answered.
// Before the connection is online, messages are held (and replayed by goOnline) and the stream set-up
// facts the connection needs (session offered, SASL failure) are noted. Also counts what is read.
import type { Logger } from "@ccs/telemetry";
import type { XmlElement } from "@xmpp/client";
import type { IdlePing } from "./keepalive.ts";
import type { PendingWindow } from "./pending-window.ts";
import { deliverUpstream, type UpstreamOrigin } from "./upstream-delivery.ts";
import {
  CONNECTION_DRAINING,
  classifyGcmJson,
  classifyMessage,
  type Incoming,
  NS_PING,
  NS_SESSION,
  pongXml,
  serviceUnavailableXml,
} from "./wire.ts";

const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";

export type UpstreamIncoming = Extract<Incoming, { kind: "upstream" | "receipt" }>;

/** The parts of its connection the dispatch feeds. */
export interface DispatchTarget {
  readonly log: Logger;
  readonly window: PendingWindow;
  readonly keepalive: IdlePing;
  /** Queues a stanza (a pong, an error answer) on the connection. */
  readonly write: (stanza: string) => boolean;
  readonly drain: (reason: string) => void;
  /** An answer settled a send: room may be free, a graceful close may stop waiting. */
  readonly answered: () => void;
  /** Where upstream messages and receipts go. */
  readonly upstream: UpstreamOrigin;
}

export class IncomingDispatch {
  readonly #target: DispatchTarget;
  /** Set once online: incoming elements bypass xmpp.js's middleware. */
  #online = false;
  /** Messages read before the connection was online (bounded by what CCS sends before bind completes). */
  readonly #early: Incoming[] = [];
  #received = 0;
  #sessionOffered = false;
  #saslFailure: string | undefined;

  constructor(target: DispatchTarget) {
    this.#target = target;
  }

  /** Stanzas read so far (for the idle ping). */
  get received(): number {
    return this.#received;
  }

  /** The server offered the (RFC 3921) session feature. */
  get sessionOffered(): boolean {
    return this.#sessionOffered;
  }

  /** The condition of the server's SASL `<failure>`, if it refused the credentials. */
  get saslFailure(): string | undefined {
    return this.#saslFailure;
  }

  /** The connection is online: messages held until now are handled, later ones as they come. */
  goOnline(): void {
    this.#online = true;
    const early = this.#early.splice(0);
    for (const incoming of early) this.#onIncoming(incoming);
  }

  /** The JSON of a plain gcm `<message>` (the splitter's fast path). */
  readonly gcm = (json: string): void => {
    this.#received++;
    this.#onIncoming(classifyGcmJson(json));
  };

  /** Any other element; false hands it on to xmpp.js (stream set-up, stream errors). */
  readonly element = (el: XmlElement): boolean => {
    this.#received++;
    if (this.#online) {
      switch (el.name) {
        case "message":
          this.#onIncoming(classifyMessage(el));
          return true;
        case "iq":
          this.#onIq(el);
          return true;
        default:
          // Stream errors and anything else: xmpp.js's own handling (it emits error and disconnects).
          return false;
      }
    }
    if (el.getName() === "message") {
      // Before online only xmpp.js's middleware listens, and it has no use for messages: keep them.
      this.#onIncoming(classifyMessage(el));
      return true;
    }
    if (el.getName() === "features" && el.getChild("session", NS_SESSION) !== undefined) {
      this.#sessionOffered = true;
    }
    if (el.getName() === "failure" && el.getNS() === NS_SASL) {
      this.#saslFailure =
        (el.children.find((c) => typeof c !== "string") as XmlElement | undefined)?.getName() ?? "failure";
    }
    return false;
  };

  #onIncoming(incoming: Incoming): void {
    if (!this.#online) {
      // Arrived between bind and online (e.g. queued upstream): handled once online.
      this.#early.push(incoming);
      return;
    }
    const target = this.#target;
    switch (incoming.kind) {
      case "answer": {
        const outcome = target.window.settle(incoming.messageId, incoming.result);
        if (outcome === "unknown") {
          target.log.warn({ messageId: incoming.messageId }, "answer for a message that is not pending here");
        }
        if (incoming.draining) target.drain("CONNECTION_DRAINING nack");
        target.answered();
        return;
      }
      case "control":
        if (incoming.controlType === CONNECTION_DRAINING) target.drain("CONNECTION_DRAINING control message");
        else target.log.info({ controlType: incoming.controlType }, "ignored unknown control message");
        return;
      case "upstream":
      case "receipt":
        deliverUpstream(incoming, target.upstream);
        return;
      case "ignored":
        target.log.warn({ why: incoming.why }, "ignored incoming message");
        return;
    }
  }

  #onIq(el: XmlElement): void {
    const { type, id } = el.attrs;
    if (type === "get" && id !== undefined && el.getChild("ping", NS_PING) !== undefined) {
      this.#target.write(pongXml(id, el.attrs.from));
      return;
    }
    if ((type === "result" || type === "error") && id !== undefined && this.#target.keepalive.answered(id)) {
      return;
    }
    if (type === "get" || type === "set") {
      this.#target.write(serviceUnavailableXml(id ?? ""));
    }
  }
}
