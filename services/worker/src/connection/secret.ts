// API keys are held as @ccs/telemetry Secrets: only reveal() (called once, inside the SASL exchange)
// yields the value; strings, JSON, inspect and logs show "[REDACTED]".
import { Secret } from "@ccs/telemetry";

/** Anything that yields the secret value on demand (@ccs/telemetry's Secret satisfies it). */
export interface SecretLike {
  reveal(): string;
}

/** Wraps a plain string in a Secret; passes through anything that already has reveal(). */
export function toSecret(value: string | SecretLike): SecretLike {
  return typeof value === "string" ? new Secret(value) : value;
}
