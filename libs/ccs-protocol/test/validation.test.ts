import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  DATA_MAX_BYTES,
  isTopicDestination,
  isWellFormedRegistrationToken,
  NackCode,
  TTL_MAX_SECONDS,
  validateDownstream,
} from "../src/index.ts";

const TOKEN = "APA91bHFOtaQGSwupt5l1og";

function nack(input: unknown): { code: NackCode; description: string; messageId?: string; to?: string } {
  const v = validateDownstream(input);
  if (v.ok || v.rejection.kind !== "nack") throw new Error(`expected a NACK, got ${JSON.stringify(v)}`);
  const out: { code: NackCode; description: string; messageId?: string; to?: string } = {
    code: v.rejection.code,
    description: v.rejection.description,
  };
  if (v.messageId !== undefined) out.messageId = v.messageId;
  if (v.to !== undefined) out.to = v.to;
  return out;
}

function stanzaErrorText(input: unknown): string | undefined {
  const v = validateDownstream(input);
  if (v.ok || v.rejection.kind !== "stanza-error")
    throw new Error(`expected a stanza error, got ${JSON.stringify(v)}`);
  expect(v.rejection.error).toMatchObject({ code: "400", type: "modify", condition: "bad-request" });
  expect(v.messageId).toBeUndefined();
  return v.rejection.error.text;
}

describe("validateDownstream", () => {
  test("a full valid request, as text or parsed; only known fields kept, data values as strings", () => {
    const req = {
      to: TOKEN,
      message_id: "m-1",
      data: { hello: "world", n: 1, b: true },
      notification: { title: "t" },
      collapse_key: "k",
      priority: "high",
      content_available: true,
      time_to_live: 0,
      delay_while_idle: false,
      delivery_receipt_requested: true,
      dry_run: false,
      condition: "'a' in topics",
      unknown_field: 1,
    };
    const expected = {
      ok: true,
      request: { ...req, data: { hello: "world", n: "1", b: "true" }, unknown_field: undefined },
    };
    delete (expected.request as Record<string, unknown>).unknown_field;
    expect(validateDownstream(JSON.stringify(req))).toEqual(expected);
    expect(validateDownstream(req)).toEqual(expected);
    expect(validateDownstream({ to: "/topics/news", message_id: "1" }).ok).toBe(true);
  });

  test("missing message_id: stanza error 400 with the documented text", () => {
    expect(stanzaErrorText({ random: "text" })).toBe(
      "InvalidJson: JSON_PARSING_ERROR : Missing Required Field: message_id",
    );
    expect(stanzaErrorText({ to: TOKEN, message_id: null })).toContain("Missing Required Field: message_id");
    expect(stanzaErrorText({ to: TOKEN, message_id: 5 })).toBe(
      'InvalidJson: JSON_TYPE_ERROR : Field "message_id" must be a JSON java.lang.String: 5',
    );
    expect(stanzaErrorText("{not json")).toMatch(/^InvalidJson: JSON_PARSING_ERROR : /);
    expect(stanzaErrorText("[1,2]")).toMatch(/^InvalidJson: JSON_PARSING_ERROR : /);
  });

  test("time_to_live not a number: INVALID_JSON with the raw value", () => {
    expect(nack(`{"to":"${TOKEN}","message_id":"m","time_to_live":"abc"}`)).toEqual({
      code: NackCode.INVALID_JSON,
      description: 'InvalidJson: JSON_TYPE_ERROR : Field "time_to_live" must be a JSON java.lang.Number: abc',
      messageId: "m",
      to: TOKEN,
    });
    expect(nack({ to: TOKEN, message_id: "m", time_to_live: "600" }).description).toBe(
      'InvalidJson: JSON_TYPE_ERROR : Field "time_to_live" must be a JSON java.lang.Number: 600',
    );
  });

  test.each([-1, TTL_MAX_SECONDS + 1, 1.5])("time_to_live %d outside 0..2419200: INVALID_TTL", (ttl) => {
    expect(nack({ to: TOKEN, message_id: "m", time_to_live: ttl })).toMatchObject({
      code: NackCode.INVALID_JSON,
      description: `InvalidJson: INVALID_TTL : Invalid value (${ttl}) for "time_to_live": must be between 0 and "2419200"`,
    });
  });

  test("time_to_live bounds accepted", () => {
    expect(validateDownstream({ to: TOKEN, message_id: "m", time_to_live: 0 }).ok).toBe(true);
    expect(validateDownstream({ to: TOKEN, message_id: "m", time_to_live: TTL_MAX_SECONDS }).ok).toBe(true);
  });

  test("missing to", () => {
    expect(nack({ message_id: "m" })).toEqual({
      code: NackCode.INVALID_JSON,
      description: "InvalidJson: JSON_PARSING_ERROR : Missing Required Field: to",
      messageId: "m",
    });
  });

  test.each([
    ["to", 5, "java.lang.String"],
    ["delay_while_idle", "not-boolean-user-supplied-value", "java.lang.Boolean"],
    ["delivery_receipt_requested", 1, "java.lang.Boolean"],
    ["dry_run", "true", "java.lang.Boolean"],
    ["content_available", 0, "java.lang.Boolean"],
    ["collapse_key", 3, "java.lang.String"],
    ["priority", 10, "java.lang.String"],
    ["condition", [], "java.lang.String"],
    ["data", "x", "java.util.Map"],
    ["notification", [1], "java.util.Map"],
  ])("wrong type of %s: JSON_TYPE_ERROR", (field, value, javaType) => {
    const raw = typeof value === "string" ? value : JSON.stringify(value);
    expect(nack({ to: TOKEN, message_id: "m", [field]: value })).toMatchObject({
      code: NackCode.INVALID_JSON,
      description: `InvalidJson: JSON_TYPE_ERROR : Field "${field}" must be a JSON ${javaType}: ${raw}`,
    });
  });

  test("priority must be normal or high", () => {
    expect(nack({ to: TOKEN, message_id: "m", priority: "urgent" }).description).toMatch(
      /^InvalidJson: INVALID_PRIORITY : /,
    );
  });

  test.each(["from", "google", "google.foo", "googleX"])("reserved data key %j", (key) => {
    expect(nack({ to: TOKEN, message_id: "m", data: { [key]: "v" } })).toMatchObject({
      code: NackCode.INVALID_JSON,
      description: expect.stringMatching(/^InvalidJson: INVALID_DATA_KEY : Invalid data key /),
    });
  });

  test("data values that are objects, arrays or null are refused", () => {
    expect(nack({ to: TOKEN, message_id: "m", data: { k: { a: 1 } } }).description).toBe(
      'InvalidJson: JSON_TYPE_ERROR : Field "k" must be a JSON java.lang.String: {"a":1}',
    );
    expect(nack({ to: TOKEN, message_id: "m", data: { k: null } }).code).toBe(NackCode.INVALID_JSON);
  });

  test("data size: keys plus values in UTF-8 bytes, at most 4096", () => {
    const at = { k: "v".repeat(DATA_MAX_BYTES - 1) };
    expect(validateDownstream({ to: TOKEN, message_id: "m", data: at }).ok).toBe(true);
    const over = { k: "v".repeat(DATA_MAX_BYTES) };
    expect(nack({ to: TOKEN, message_id: "m", data: over }).description).toMatch(
      /^InvalidJson: MESSAGE_TOO_BIG : /,
    );
    const multibyte = { k: "é".repeat(2048) }; // 1 + 4096 bytes
    expect(nack({ to: TOKEN, message_id: "m", data: multibyte }).code).toBe(NackCode.INVALID_JSON);
  });

  test("malformed to: BAD_REGISTRATION with the documented text", () => {
    for (const to of ["", "short", "has space in it", "bad+chars/==", "tab\there00", "x".repeat(4097)]) {
      expect(nack({ to, message_id: "m" })).toEqual({
        code: NackCode.BAD_REGISTRATION,
        description: `Invalid token on 'to' field: ${to}`,
        messageId: "m",
        to,
      });
    }
  });

  test("INVALID_JSON checks come before BAD_REGISTRATION", () => {
    expect(nack({ to: "bad token", message_id: "m", time_to_live: -5 }).code).toBe(NackCode.INVALID_JSON);
  });

  test("never throws on arbitrary JSON values", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = validateDownstream(JSON.stringify(v));
        expect(typeof r.ok).toBe("boolean");
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(typeof validateDownstream(s).ok).toBe("boolean");
      }),
    );
  });
});

describe("registration token rule", () => {
  test("well-formed tokens", () => {
    expect(isWellFormedRegistrationToken(TOKEN)).toBe(true);
    expect(isWellFormedRegistrationToken("fX1y-Z_2:APA91bHFOtaQ")).toBe(true);
    expect(isWellFormedRegistrationToken("REGISTRATION_ID")).toBe(true);
    expect(isWellFormedRegistrationToken("a".repeat(4096))).toBe(true);
  });
  test("malformed tokens", () => {
    for (const t of [
      "",
      "1234567",
      "REGID",
      "with space0",
      "line\nbreak0",
      "slash/abcdef",
      "plus+abcdef",
      "a".repeat(4097),
      "ünïcödé123",
    ]) {
      expect(isWellFormedRegistrationToken(t)).toBe(false);
    }
  });
  test("topics", () => {
    expect(isTopicDestination("/topics/news.sport~1%2")).toBe(true);
    expect(isTopicDestination("/topics/")).toBe(false);
    expect(isTopicDestination("/topics/a b")).toBe(false);
  });
});
