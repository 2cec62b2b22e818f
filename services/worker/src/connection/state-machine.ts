// The lifecycle of one CCS connection as an explicit state machine (Temporal worker style):
// one setter changes the state, logs the change and rejects illegal transitions with IllegalStateError.

import type { Logger } from "@ccs/telemetry";
import type { ConnectionState } from "./contract.ts";
import { IllegalStateError } from "./errors.ts";

/**
 * Allowed transitions.
 * - connecting → authenticating (TLS up, stream opened) | closed (refused, unreachable, timeout)
 * - authenticating → online (SASL success, bind, session) | closed (refused key, stream error)
 * - online → draining (CONNECTION_DRAINING, recycle, graceful close) | closed (connection lost)
 * - draining → closed (CCS closed the stream, or our close deadline)
 * - closed is terminal.
 */
export const TRANSITIONS: Readonly<Record<ConnectionState, readonly ConnectionState[]>> = {
  connecting: ["authenticating", "closed"],
  authenticating: ["online", "closed"],
  online: ["draining", "closed"],
  draining: ["closed"],
  closed: [],
};

export function canTransition(from: ConnectionState, to: ConnectionState): boolean {
  return TRANSITIONS[from].includes(to);
}

export type StateListener = (state: ConnectionState, previous: ConnectionState, reason: string) => void;

export class ConnectionLifecycle {
  #state: ConnectionState = "connecting";
  readonly #logger: Logger;
  readonly #onChange: StateListener;

  constructor(logger: Logger, onChange: StateListener) {
    this.#logger = logger;
    this.#onChange = onChange;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The one place the state changes. Throws IllegalStateError for a transition not in TRANSITIONS. */
  set(next: ConnectionState, reason: string): void {
    const previous = this.#state;
    if (!canTransition(previous, next)) {
      throw new IllegalStateError(`illegal connection state transition ${previous} → ${next} (${reason})`);
    }
    this.#state = next;
    this.#logger.info({ state: next, previous, reason }, `connection ${previous} → ${next}`);
    this.#onChange(next, previous, reason);
  }

  /** Like set(), but a no-op (returns false) when the transition is not allowed. For racing teardown paths. */
  trySet(next: ConnectionState, reason: string): boolean {
    if (!canTransition(this.#state, next)) return false;
    this.set(next, reason);
    return true;
  }

  /** Throws IllegalStateError unless the state is one of `allowed`. */
  assert(allowed: readonly ConnectionState[], operation: string): void {
    if (!allowed.includes(this.#state)) {
      throw new IllegalStateError(`${operation} is not allowed in state ${this.#state}`);
    }
  }
}
