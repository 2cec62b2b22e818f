// The write side of one connection: stanzas queued in one event-loop turn go out in one TLS socket
// write, each write checked against the slot's send gate; and the end of our stream.
import type { TLSSocket } from "node:tls";
import { StanzaBatchWriter } from "@ccs/ccs-protocol";
import type { Logger } from "@ccs/telemetry";
import { ConnectionClosedError } from "./errors.ts";

const STREAM_FOOTER = "</stream:stream>";

export interface StanzaOutputInit {
  readonly maxBatchBytes: number;
  readonly log: Logger;
  /** The output broke (socket write failed, queue overflow, send gate closed): the connection must end. */
  readonly fail: (reason: string, error: Error) => void;
}

export class StanzaOutput {
  readonly #log: Logger;
  readonly #fail: (reason: string, error: Error) => void;
  readonly #writer: StanzaBatchWriter;
  #tls: TLSSocket | undefined;
  #sendGate: (() => boolean) | undefined;
  #gateClosed = false;
  #footerSent = false;

  constructor(init: StanzaOutputInit) {
    this.#log = init.log;
    this.#fail = init.fail;
    // Stanzas written in one event-loop turn go out in one socket write (setImmediate: after all the
    // I/O callbacks of this turn, so answers read from several sockets batch the sends they trigger).
    this.#writer = new StanzaBatchWriter(
      {
        write: (chunk) => this.#writeToSocket(chunk),
        once: (event, listener) => this.#tls?.once(event, listener),
      },
      {
        maxBatchBytes: init.maxBatchBytes,
        schedule: (flush) => setImmediate(flush),
        onError: (err) =>
          this.#fail("socket write failed", err instanceof Error ? err : new Error(String(err))),
      },
    );
  }

  /** Writes go to this socket from now on (once TLS is up). */
  attach(tls: TLSSocket | undefined): void {
    this.#tls = tls;
  }

  /** True once a socket is attached. */
  get attached(): boolean {
    return this.#tls !== undefined;
  }

  /** Changes whenever something is queued or written (for the idle ping). */
  get activity(): number {
    return this.#writer.writes + this.#writer.queuedBytes;
  }

  /** See ConnectionSlot.setSendGate: checked before every socket write. */
  setSendGate(gate: () => boolean): void {
    this.#sendGate = gate;
  }

  /** False once the slot's lease ended: a write now would close the connection (see #writeToSocket). */
  gateOpen(): boolean {
    return this.#sendGate === undefined || this.#sendGate();
  }

  /**
   * Queues a stanza for the batched socket write; false when nothing can be written any more. The
   * connection closes its output before it reaches "closed", so this also covers a closed connection.
   */
  write(stanza: string): boolean {
    if (this.#writer.state === "closed" || this.#footerSent) return false;
    try {
      this.#writer.push(stanza);
      return true;
    } catch (err) {
      // WriterOverflowError: the socket has not drained megabytes; the connection is as good as dead.
      this.#fail("write queue overflow", err instanceof Error ? err : new Error(String(err)));
      return false;
    }
  }

  /**
   * Writes what is queued, then ends our stream with `</stream:stream>` (once; nothing is written after
   * it). With onlyIfSocketLive, the footer is skipped when the socket is already destroyed.
   */
  endStream(onlyIfSocketLive: boolean): void {
    this.#writer.flush();
    const tls = this.#tls;
    if (!this.#footerSent && tls !== undefined && !(onlyIfSocketLive && tls.destroyed)) {
      this.#footerSent = true;
      tls.end(STREAM_FOOTER);
    }
  }

  /** Drops whatever is still queued and destroys the socket. */
  close(): void {
    this.#writer.close();
    if (this.#tls !== undefined && !this.#tls.destroyed) this.#tls.destroy();
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
        queueMicrotask(() => this.#fail("send gate closed", new ConnectionClosedError("slot lease lost")));
      }
      return true;
    }
    return this.#tls?.write(chunk) ?? true;
  }
}
