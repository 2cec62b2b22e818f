import { describe, expect, test } from "vitest";
import {
  PayloadJsonError,
  PayloadShapeError,
  parseClientPayload,
  parseServerPayload,
  RetryClass,
} from "../src/index.ts";

describe("parseServerPayload", () => {
  test("ack with canonical registration id", () => {
    expect(
      parseServerPayload('{"message_type":"ack","from":"old","message_id":"1","registration_id":"new"}'),
    ).toEqual({
      kind: "ack",
      messageId: "1",
      from: "old",
      registrationId: "new",
      payload: { message_type: "ack", from: "old", message_id: "1", registration_id: "new" },
    });
  });

  test("unknown codes are treated as INTERNAL_SERVER_ERROR, raw code kept", () => {
    expect(parseServerPayload('{"message_type":"nack","message_id":"1","error":"NEW_THING"}')).toMatchObject({
      kind: "nack",
      error: "NEW_THING",
      code: "INTERNAL_SERVER_ERROR",
      retry: RetryClass.BoundedBackoff,
    });
  });

  test("unknown message_type can be ignored", () => {
    expect(parseServerPayload('{"message_type":"future","x":1}')).toEqual({
      kind: "unknown",
      messageType: "future",
      payload: { message_type: "future", x: 1 },
    });
  });

  test("receipt and upstream", () => {
    expect(
      parseServerPayload(
        '{"message_type":"receipt","from":"gcm.googleapis.com","message_id":"dr2:1","category":"c","data":{"message_status":"MESSAGE_SENT_TO_DEVICE","original_message_id":"1","device_registration_id":"R","message_sent_timestamp":"123"},"time_to_live":0}',
      ),
    ).toMatchObject({ kind: "receipt", originalMessageId: "1", deviceRegistrationId: "R" });
    expect(
      parseServerPayload('{"from":"R","category":"c","message_id":"1","data":{"a":"b"},"time_to_live":5}'),
    ).toMatchObject({
      kind: "upstream",
      timeToLive: 5,
      data: { a: "b" },
    });
  });

  test.each([
    ["not json", "{", PayloadJsonError],
    ["not an object", "[]", PayloadShapeError],
    ["ack without message_id", '{"message_type":"ack","from":"x"}', PayloadShapeError],
    ["nack without error", '{"message_type":"nack","message_id":"1"}', PayloadShapeError],
    ["control without control_type", '{"message_type":"control"}', PayloadShapeError],
    ["message_type not a string", '{"message_type":1}', PayloadShapeError],
    [
      "upstream with non-string data",
      '{"from":"R","category":"c","message_id":"1","data":{"a":1}}',
      PayloadShapeError,
    ],
    [
      "receipt without original id",
      '{"message_type":"receipt","from":"f","message_id":"1","category":"c","data":{"message_status":"x"}}',
      PayloadShapeError,
    ],
  ])("%s: typed error", (_name, json, cls) => {
    expect(() => parseServerPayload(json)).toThrow(cls);
    try {
      parseServerPayload(json);
    } catch (err) {
      expect((err as PayloadJsonError).payload).toBe(json);
    }
  });
});

describe("parseClientPayload", () => {
  test("classification", () => {
    expect(parseClientPayload('{"to":"t","message_id":"1"}').kind).toBe("downstream");
    expect(parseClientPayload('{"to":"t","message_id":"1","message_type":"ack"}')).toEqual({
      kind: "upstream-ack",
      to: "t",
      messageId: "1",
      payload: { to: "t", message_id: "1", message_type: "ack" },
    });
    expect(parseClientPayload('{"message_id":"1","message_type":"ack"}')).toMatchObject({
      kind: "bad-ack",
      messageId: "1",
    });
    expect(parseClientPayload('{"message_type":"nack"}').kind).toBe("unknown");
    expect(() => parseClientPayload("nope")).toThrow(PayloadJsonError);
  });
});
