// Bringing a connection's stream up: TLS, SASL, bind (and the session, when offered) within the
// connect timeout, raced against the connection closing; and what a failure before online is reported as.
import type { Clock, TimerHandle } from "./clock.ts";
import { AuthenticationError, ConnectError, ConnectionClosedError } from "./errors.ts";
import type { XmppClientAdapter } from "./xmpp-client-adapter.ts";

export interface StreamSetUpInit {
  readonly xmpp: XmppClientAdapter;
  readonly senderId: string;
  readonly clock: Clock;
  readonly connectTimeoutMs: number;
  /** What the server said during set-up (IncomingDispatch notes it), read when needed. */
  readonly handshake: { readonly sessionOffered: boolean; readonly saslFailure: string | undefined };
  /** Resolves when the connection closes: the set-up fails then. */
  readonly closed: Promise<{ readonly reason: string; readonly error: Error | undefined }>;
  /** Ends the connection (connect timeout, failed set-up). */
  readonly teardown: (reason: string, error: Error) => void;
}

/**
 * Starts at construction. Use: `try { await setUp.done } catch (err) { throw setUp.failed(err) }
 * finally { setUp.finish() }`.
 */
export class StreamSetUp {
  /** Resolves once the stream is up, rejects when the set-up failed or the connection closed first. */
  readonly done: Promise<unknown>;
  readonly #init: StreamSetUpInit;
  readonly #setUp: Promise<void>;
  readonly #timer: TimerHandle;

  constructor(init: StreamSetUpInit) {
    this.#init = init;
    const { xmpp, clock, connectTimeoutMs, handshake } = init;
    const failedBeforeOnline = init.closed.then((info) => {
      throw info.error ?? new ConnectError(`connection closed before online: ${info.reason}`);
    });
    // Marks it handled: it also rejects when an online connection closes later, when nobody waits on it.
    failedBeforeOnline.catch(() => undefined);
    this.#timer = clock.setTimeout(
      () => init.teardown("connect timeout", new ConnectError(`not online within ${connectTimeoutMs} ms`)),
      connectTimeoutMs,
    );
    this.#setUp = (async () => {
      await xmpp.start();
      // CCS offers the (RFC 3921) session feature and real clients establish it; skip it if not offered.
      if (handshake.sessionOffered) await xmpp.establishSession(connectTimeoutMs);
    })();
    this.done = Promise.race([this.#setUp, failedBeforeOnline]);
  }

  /** The set-up failed with err: ends the connection; returns the error to reject open() with. */
  failed(err: unknown): Error {
    const error = openFailure(err, this.#init.handshake.saslFailure, this.#init.senderId);
    this.#init.teardown("open failed", error);
    // The set-up promise may still settle later; its outcome no longer matters.
    this.#setUp.catch(() => undefined);
    return error;
  }

  /** Stops the connect timeout (whatever the outcome). */
  finish(): void {
    this.#init.clock.clearTimeout(this.#timer);
  }
}

/**
 * AuthenticationError (with the server's SASL condition) when the server sent a SASL `<failure>`; the
 * connection layer's own errors as they are; ConnectError for anything else.
 */
export function openFailure(err: unknown, saslFailure: string | undefined, senderId: string): Error {
  if (saslFailure !== undefined) {
    return new AuthenticationError(`CCS refused the credentials of sender ${senderId}`, saslFailure, {
      cause: err,
    });
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
