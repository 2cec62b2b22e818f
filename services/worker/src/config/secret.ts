import { inspect } from "node:util";

const REDACTED = "[redacted]";

/**
 * A secret value (API key, NATS password) that never prints: logging, JSON.stringify,
 * util.inspect and string conversion all show "[redacted]". Only reveal() gives the value.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
