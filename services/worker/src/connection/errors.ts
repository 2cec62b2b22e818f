// Errors of the connection layer. One class per failure; classify by class, never by message text.

/** An operation was called in a state that does not allow it (Temporal-style lifecycle guard). */
export class IllegalStateError extends Error {
  override readonly name = "IllegalStateError";
}

/** Slot or connection options failed validation. */
export class InvalidConnectionOptionError extends Error {
  override readonly name = "InvalidConnectionOptionError";
}

/** CCS refused the credentials (SASL failure, e.g. `not-authorized`). Never carries the key. */
export class AuthenticationError extends Error {
  override readonly name = "AuthenticationError";
  /** SASL failure condition from the server (`not-authorized`, ...), when it sent one. */
  readonly condition: string | undefined;
  constructor(message: string, condition: string | undefined, options?: ErrorOptions) {
    super(message, options);
    this.condition = condition;
  }
}

/** The connection failed before it was online (TCP/TLS/stream/bind failure or timeout). */
export class ConnectError extends Error {
  override readonly name = "ConnectError";
}

/** The connection closed (or was closed) while an operation waited on it. */
export class ConnectionClosedError extends Error {
  override readonly name = "ConnectionClosedError";
}
