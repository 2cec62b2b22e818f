// The one error for "this operation or transition is not allowed in the current state", thrown by every
// component's lifecycle (worker, coordinator, cluster, emulator). Callers test with `instanceof`.

export class IllegalStateError extends Error {
  override readonly name = "IllegalStateError";
  /** The component whose lifecycle refused (for example "connection", "leader-loop"). */
  readonly component: string;
  /** The state it was in. */
  readonly state: string;

  constructor(component: string, state: string, message: string, options?: ErrorOptions) {
    super(`${component}: ${message}`, options);
    this.component = component;
    this.state = state;
  }
}
