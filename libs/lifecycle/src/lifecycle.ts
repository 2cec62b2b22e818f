// One lifecycle pattern (Temporal worker style): a documented state union, a transition table, and one
// setter that logs each change and throws IllegalStateError for a transition the table does not allow.
// Components keep their state in a Lifecycle instead of booleans or closure variables.

import { IllegalStateError } from "./illegal-state-error.ts";

/** For each state, the states it may move to. A state with no successors is terminal. */
export type TransitionTable<S extends string> = Readonly<Record<S, readonly S[]>>;

/** The part of a logger the lifecycle uses (pino and @ccs/telemetry's Logger satisfy it). */
export interface LifecycleLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

export type LifecycleListener<S extends string> = (state: S, previous: S, reason: string) => void;

export interface LifecycleOptions<S extends string> {
  /** Names the component in log lines and errors ("connection", "leader-loop", ...). */
  readonly component: string;
  readonly initial: S;
  readonly transitions: TransitionTable<S>;
  readonly logger?: LifecycleLogger;
  /** Level of the change log line. Default "debug"; long-lived top-level components use "info". */
  readonly logLevel?: "debug" | "info";
  /** Called after every change, after the log line. */
  readonly onChange?: LifecycleListener<S>;
}

export class Lifecycle<S extends string> {
  readonly component: string;
  readonly #transitions: TransitionTable<S>;
  readonly #logger: LifecycleLogger | undefined;
  readonly #logLevel: "debug" | "info";
  readonly #onChange: LifecycleListener<S> | undefined;
  #state: S;

  constructor(options: LifecycleOptions<S>) {
    this.component = options.component;
    this.#state = options.initial;
    this.#transitions = options.transitions;
    this.#logger = options.logger;
    this.#logLevel = options.logLevel ?? "debug";
    this.#onChange = options.onChange;
  }

  get state(): S {
    return this.#state;
  }

  /** True when the state is one of `states`. */
  is(...states: readonly S[]): boolean {
    return states.includes(this.#state);
  }

  /** True when the table allows moving from the current state to `next`. */
  can(next: S): boolean {
    return this.#transitions[this.#state].includes(next);
  }

  /** True when the current state has no successor. */
  get terminal(): boolean {
    return this.#transitions[this.#state].length === 0;
  }

  /** The one place the state changes. Throws IllegalStateError for a transition not in the table. */
  set(next: S, reason: string): void {
    const previous = this.#state;
    if (!this.can(next)) {
      throw new IllegalStateError(
        this.component,
        previous,
        `illegal state transition ${previous} → ${next} (${reason})`,
      );
    }
    this.#state = next;
    this.#logger?.[this.#logLevel](
      { component: this.component, state: next, previous, reason },
      `${this.component} ${previous} → ${next}`,
    );
    this.#onChange?.(next, previous, reason);
  }

  /** Like set(), but returns false instead of throwing when the table does not allow it (racing teardown paths). */
  trySet(next: S, reason: string): boolean {
    if (!this.can(next)) return false;
    this.set(next, reason);
    return true;
  }

  /** Throws IllegalStateError unless the state is one of `allowed`. */
  assert(allowed: readonly S[], operation: string): void {
    if (!allowed.includes(this.#state)) {
      throw new IllegalStateError(
        this.component,
        this.#state,
        `${operation} is not allowed in state ${this.#state}`,
      );
    }
  }
}
