/**
 * Typed errors of the emulator. Callers branch on the class (or `code`), never on message text.
 * Messages never contain API keys.
 */

/** Base class: every error the emulator throws extends it. */
export class EmulatorError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option, flag, environment variable or admin request body had an invalid value. */
export class InvalidOptionError extends EmulatorError {
  constructor(message: string, options?: ErrorOptions) {
    super("INVALID_OPTION", message, options);
  }
}

/** An admin operation named a device, connection or route that does not exist. */
export class NotFoundError extends EmulatorError {
  readonly what: string;

  constructor(what: string) {
    super("NOT_FOUND", `${what} not found`);
    this.what = what;
  }
}

/** A lifecycle method was called in a state that does not allow it. */
export class IllegalStateError extends EmulatorError {
  constructor(message: string) {
    super("ILLEGAL_STATE", message);
  }
}
