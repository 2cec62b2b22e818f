/**
 * CCS NACK error codes as data, each with the retry class the reference guides give it
 * (modelled on nats.js `jserrors.ts`: an `as const` object, a derived type, predicates).
 */

export const NackCode = {
  BAD_ACK: "BAD_ACK",
  BAD_REGISTRATION: "BAD_REGISTRATION",
  CONNECTION_DRAINING: "CONNECTION_DRAINING",
  DEVICE_UNREGISTERED: "DEVICE_UNREGISTERED",
  INTERNAL_SERVER_ERROR: "INTERNAL_SERVER_ERROR",
  INVALID_JSON: "INVALID_JSON",
  QUOTA_EXCEEDED: "QUOTA_EXCEEDED",
  DEVICE_MESSAGE_RATE_EXCEEDED: "DEVICE_MESSAGE_RATE_EXCEEDED",
  SERVICE_UNAVAILABLE: "SERVICE_UNAVAILABLE",
} as const;
export type NackCode = (typeof NackCode)[keyof typeof NackCode];

/** What a sender does with a NACKed message. */
export const RetryClass = {
  /** "Unless otherwise indicated, a NACKed message should not be retried." */
  None: "none",
  /** SERVICE_UNAVAILABLE: retry over the same connection, exponential backoff from 1 s. */
  SameConnectionBackoff: "same-connection-backoff",
  /** CONNECTION_DRAINING: retry immediately over another connection. */
  OtherConnectionNow: "other-connection-now",
  /** DEVICE_MESSAGE_RATE_EXCEEDED / QUOTA_EXCEEDED: retry at a slower rate to that device. */
  SlowerToDevice: "slower-to-device",
  /** INTERNAL_SERVER_ERROR and unknown codes: retry with backoff a bounded number of times. */
  BoundedBackoff: "bounded-backoff",
} as const;
export type RetryClass = (typeof RetryClass)[keyof typeof RetryClass];

/** Initial delay of the SERVICE_UNAVAILABLE backoff (000: "initial delay of 1 second"). */
export const SERVICE_UNAVAILABLE_INITIAL_BACKOFF_MS = 1000;
/**
 * Attempts allowed for the bounded-backoff class (INTERNAL_SERVER_ERROR and unknown codes).
 * The documents give no number (003 advises "an internal retry counter"); 3 is our default.
 */
export const DEFAULT_INTERNAL_ERROR_MAX_RETRIES = 3;

export interface NackCodeInfo {
  readonly retry: RetryClass;
  /** The registration token itself is bad: stop sending to it (and drop it). */
  readonly permanentTokenError: boolean;
  /** Description from the guides' NACK table (000; DEVICE_MESSAGE_RATE_EXCEEDED from 001, which renamed QUOTA_EXCEEDED). */
  readonly description: string;
}

const RATE_DESCRIPTION =
  "The rate of messages to a particular registration ID (in other words, to a sender/device pair) is too high. If you want to retry the message, try using a slower rate.";

export const NACK_CODES: Readonly<Record<NackCode, NackCodeInfo>> = Object.freeze({
  BAD_ACK: {
    retry: RetryClass.None,
    permanentTokenError: false,
    description: "The ACK message is improperly formed.",
  },
  BAD_REGISTRATION: {
    retry: RetryClass.None,
    permanentTokenError: true,
    description: "The device has a registration ID, but it's invalid or expired.",
  },
  CONNECTION_DRAINING: {
    retry: RetryClass.OtherConnectionNow,
    permanentTokenError: false,
    description:
      "The message couldn't be processed because the connection is draining. The message should be immediately retried over another connection.",
  },
  DEVICE_UNREGISTERED: {
    retry: RetryClass.None,
    permanentTokenError: true,
    description: "The device is not registered.",
  },
  INTERNAL_SERVER_ERROR: {
    retry: RetryClass.BoundedBackoff,
    permanentTokenError: false,
    description: "The server encountered an error while trying to process the request.",
  },
  INVALID_JSON: {
    retry: RetryClass.None,
    permanentTokenError: false,
    description: "The JSON message payload is not valid.",
  },
  QUOTA_EXCEEDED: {
    retry: RetryClass.SlowerToDevice,
    permanentTokenError: false,
    description: RATE_DESCRIPTION,
  },
  DEVICE_MESSAGE_RATE_EXCEEDED: {
    retry: RetryClass.SlowerToDevice,
    permanentTokenError: false,
    description: RATE_DESCRIPTION,
  },
  SERVICE_UNAVAILABLE: {
    retry: RetryClass.SameConnectionBackoff,
    permanentTokenError: false,
    description:
      "CCS is not currently able to process the message. The message should be retried over the same connection using exponential backoff with an initial delay of 1 second.",
  },
});

export function isNackCode(code: string): code is NackCode {
  return Object.hasOwn(NACK_CODES, code);
}

/**
 * Prefix of the older NACK form (004) that put the whole error text in `error`, e.g.
 * `InvalidJson : INVALID_TTL : Invalid value (-1) ...`. It is a documented wire form of INVALID_JSON.
 */
const LEGACY_INVALID_JSON_PREFIX = "InvalidJson";

/**
 * The code a sender acts on for a raw `error` value: a known code as is, the older
 * `InvalidJson : ...` form as INVALID_JSON, anything else as INTERNAL_SERVER_ERROR
 * ("Unexpected NACK error codes should be treated the same as INTERNAL_SERVER_ERROR").
 */
export function normalizeNackCode(code: string): NackCode {
  if (isNackCode(code)) return code;
  if (code.startsWith(LEGACY_INVALID_JSON_PREFIX)) return NackCode.INVALID_JSON;
  return NackCode.INTERNAL_SERVER_ERROR;
}

/** Retry class of a raw NACK code; unknown codes get the class of INTERNAL_SERVER_ERROR. */
export function retryClassOf(code: string): RetryClass {
  return NACK_CODES[normalizeNackCode(code)].retry;
}

/** BAD_REGISTRATION and DEVICE_UNREGISTERED: the token will never work again. */
export function isPermanentTokenError(code: string): boolean {
  return isNackCode(code) && NACK_CODES[code].permanentTokenError;
}

export function isRetryable(code: string): boolean {
  return retryClassOf(code) !== RetryClass.None;
}
