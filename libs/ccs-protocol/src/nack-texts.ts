/**
 * Texts CCS puts in `error_description` (NACK) and in stanza-error `<text>`.
 * Texts quoted from the reference guides are exact; the others are our emulation choice
 * (marked "composed") in the guides' `InvalidJson: <KIND> : <detail>` style.
 */

/** The `<KIND>` part of `InvalidJson: <KIND> : <detail>`. */
export const InvalidJsonKind = {
  /** 000: `InvalidJson: JSON_PARSING_ERROR : Missing Required Field: message_id`. */
  JSON_PARSING_ERROR: "JSON_PARSING_ERROR",
  /** 000/004: `InvalidJson: JSON_TYPE_ERROR : Field "time_to_live" must be a JSON java.lang.Number: abc`. */
  JSON_TYPE_ERROR: "JSON_TYPE_ERROR",
  /** 004: `InvalidJson : INVALID_TTL : Invalid value (-1) for "time_to_live": must be between 0 and "2419200"`. */
  INVALID_TTL: "INVALID_TTL",
  /** Composed (HTTP error `MessageTooBig` of the archived server reference). */
  MESSAGE_TOO_BIG: "MESSAGE_TOO_BIG",
  /** Composed (HTTP error `InvalidDataKey` of the archived server reference). */
  INVALID_DATA_KEY: "INVALID_DATA_KEY",
  /** Composed. */
  INVALID_PRIORITY: "INVALID_PRIORITY",
} as const;
export type InvalidJsonKind = (typeof InvalidJsonKind)[keyof typeof InvalidJsonKind];

/** Java class names CCS names in JSON_TYPE_ERROR texts. `java.util.Map` for objects is composed. */
export const JsonJavaType = {
  Number: "java.lang.Number",
  Boolean: "java.lang.Boolean",
  String: "java.lang.String",
  Object: "java.util.Map",
} as const;
export type JsonJavaType = (typeof JsonJavaType)[keyof typeof JsonJavaType];

/** The raw value as CCS prints it after the colon: a string's content, other values as JSON. */
export function rawValueText(value: unknown): string {
  if (typeof value === "string") return value;
  const json = JSON.stringify(value);
  return json === undefined ? String(value) : json;
}

function invalidJson(kind: InvalidJsonKind, detail: string): string {
  return `InvalidJson: ${kind} : ${detail}`;
}

export const NACK_TEXTS = Object.freeze({
  /** Exact (000). */
  badRegistration: (to: string): string => `Invalid token on 'to' field: ${to}`,
  /** Exact (001). */
  deviceMessageRateExceeded: (): string => "Downstream message rate exceeded for this registration id",
  /** Exact (000). */
  quotaExceeded: (): string => "Short-term downstream quota exceeded for this registration id",
  /** Composed from the NACK table. */
  connectionDraining: (): string => "The message couldn't be processed because the connection is draining",
  /** Composed from the NACK table. */
  serviceUnavailable: (): string => "CCS is not currently able to process the message",
  /** Composed from the NACK table. */
  internalServerError: (): string => "The server encountered an error while trying to process the request",
  /** Composed from the NACK table. */
  deviceUnregistered: (): string => "The device is not registered",
  /** Composed from the NACK table. */
  badAck: (): string => "The ACK message is improperly formed",
  invalidJson,
  /** Exact for message_id (000), same form for other fields. */
  missingRequiredField: (field: string): string =>
    invalidJson(InvalidJsonKind.JSON_PARSING_ERROR, `Missing Required Field: ${field}`),
  /** Composed: the payload is not JSON, or not a JSON object. */
  malformedJson: (detail: string): string => invalidJson(InvalidJsonKind.JSON_PARSING_ERROR, detail),
  /** Exact form (000/004). */
  jsonTypeError: (field: string, javaType: JsonJavaType, raw: unknown): string =>
    invalidJson(
      InvalidJsonKind.JSON_TYPE_ERROR,
      `Field "${field}" must be a JSON ${javaType}: ${rawValueText(raw)}`,
    ),
  /** Form of 004, with the newer `InvalidJson:` spacing. */
  invalidTtl: (value: number, max: number): string =>
    invalidJson(
      InvalidJsonKind.INVALID_TTL,
      `Invalid value (${value}) for "time_to_live": must be between 0 and "${max}"`,
    ),
  /** Composed. */
  messageTooBig: (bytes: number, max: number): string =>
    invalidJson(InvalidJsonKind.MESSAGE_TOO_BIG, `Field "data" is ${bytes} bytes: must be at most ${max}`),
  /** Composed. */
  reservedDataKey: (key: string): string =>
    invalidJson(
      InvalidJsonKind.INVALID_DATA_KEY,
      `Invalid data key "${key}": "from" and keys starting with "google" are reserved`,
    ),
  /** Composed. */
  invalidPriority: (raw: unknown): string =>
    invalidJson(
      InvalidJsonKind.INVALID_PRIORITY,
      `Invalid value (${rawValueText(raw)}) for "priority": must be "normal" or "high"`,
    ),
});
