import { describe, expect, test } from "vitest";
import {
  isNackCode,
  isPermanentTokenError,
  isRetryable,
  NACK_CODES,
  NACK_TEXTS,
  NackCode,
  normalizeNackCode,
  RetryClass,
  retryClassOf,
} from "../src/index.ts";

describe("NACK codes", () => {
  test("the documented set, values equal to names", () => {
    expect(Object.keys(NackCode).sort()).toEqual(
      [
        "BAD_ACK",
        "BAD_REGISTRATION",
        "CONNECTION_DRAINING",
        "DEVICE_MESSAGE_RATE_EXCEEDED",
        "DEVICE_UNREGISTERED",
        "INTERNAL_SERVER_ERROR",
        "INVALID_JSON",
        "QUOTA_EXCEEDED",
        "SERVICE_UNAVAILABLE",
      ].sort(),
    );
    for (const [k, v] of Object.entries(NackCode)) expect(v).toBe(k);
    expect(Object.keys(NACK_CODES).sort()).toEqual(Object.keys(NackCode).sort());
  });

  test.each([
    ["BAD_ACK", RetryClass.None],
    ["BAD_REGISTRATION", RetryClass.None],
    ["DEVICE_UNREGISTERED", RetryClass.None],
    ["INVALID_JSON", RetryClass.None],
    ["SERVICE_UNAVAILABLE", RetryClass.SameConnectionBackoff],
    ["CONNECTION_DRAINING", RetryClass.OtherConnectionNow],
    ["DEVICE_MESSAGE_RATE_EXCEEDED", RetryClass.SlowerToDevice],
    ["QUOTA_EXCEEDED", RetryClass.SlowerToDevice],
    ["INTERNAL_SERVER_ERROR", RetryClass.BoundedBackoff],
    ["SOMETHING_NEW", RetryClass.BoundedBackoff],
    ["", RetryClass.BoundedBackoff],
    ["toString", RetryClass.BoundedBackoff],
    ['InvalidJson : INVALID_TTL : Invalid value (-1) for "time_to_live"', RetryClass.None],
  ])("retryClassOf(%j) = %s", (code, retry) => {
    expect(retryClassOf(code)).toBe(retry);
    expect(isRetryable(code)).toBe(retry !== RetryClass.None);
  });

  test("predicates", () => {
    expect(isNackCode("BAD_ACK")).toBe(true);
    expect(isNackCode("bad_ack")).toBe(false);
    expect(isNackCode("__proto__")).toBe(false);
    expect(normalizeNackCode("WHATEVER")).toBe(NackCode.INTERNAL_SERVER_ERROR);
    expect([...Object.values(NackCode)].filter(isPermanentTokenError).sort()).toEqual([
      "BAD_REGISTRATION",
      "DEVICE_UNREGISTERED",
    ]);
    expect(isPermanentTokenError("UNKNOWN")).toBe(false);
  });

  test("documented texts", () => {
    expect(NACK_TEXTS.badRegistration("SomeInvalidRegistrationId")).toBe(
      "Invalid token on 'to' field: SomeInvalidRegistrationId",
    );
    expect(NACK_TEXTS.deviceMessageRateExceeded()).toBe(
      "Downstream message rate exceeded for this registration id",
    );
    expect(NACK_TEXTS.quotaExceeded()).toBe("Short-term downstream quota exceeded for this registration id");
    expect(NACK_TEXTS.missingRequiredField("message_id")).toBe(
      "InvalidJson: JSON_PARSING_ERROR : Missing Required Field: message_id",
    );
    expect(NACK_TEXTS.invalidTtl(-1, 2419200)).toBe(
      'InvalidJson: INVALID_TTL : Invalid value (-1) for "time_to_live": must be between 0 and "2419200"',
    );
    expect(NACK_CODES.SERVICE_UNAVAILABLE.description).toContain("initial delay of 1 second");
    expect(Object.isFrozen(NACK_CODES)).toBe(true);
  });
});
