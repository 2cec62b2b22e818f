/** The coordinator configuration is invalid; `field` names the offending setting. */
export class CoordinatorConfigError extends Error {
  override readonly name = "CoordinatorConfigError";
  readonly field: string;
  constructor(field: string, message: string, options?: ErrorOptions) {
    super(`${field}: ${message}`, options);
    this.field = field;
  }
}

/** An operation was called in a lifecycle state that does not allow it. */
export class IllegalStateError extends Error {
  override readonly name = "IllegalStateError";
  constructor(operation: string, state: string) {
    super(`cannot ${operation} while ${state}`);
  }
}
