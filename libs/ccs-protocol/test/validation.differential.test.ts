/**
 * validateDownstream against its reference (test/fixtures/validation-reference.ts, the implementation
 * before the per-message fast path): the same result, texts, key order and prototype of `data`, for
 * requests made of the fields it reads, given as parsed values and as JSON text.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { validateDownstream } from "../src/index.ts";
import { referenceValidateDownstream } from "./fixtures/validation-reference.ts";

function same(input: unknown): void {
  const actual = validateDownstream(input);
  const expected = referenceValidateDownstream(input);
  expect(actual).toEqual(expected);
  expect(JSON.stringify(actual)).toBe(JSON.stringify(expected));
  if (actual.ok && expected.ok && expected.request.data !== undefined) {
    const data = actual.request.data ?? {};
    expect(Object.getPrototypeOf(data)).toBe(Object.getPrototypeOf(expected.request.data));
    expect(Reflect.ownKeys(data)).toEqual(Reflect.ownKeys(expected.request.data));
    for (const key of Reflect.ownKeys(data)) {
      expect(Object.getOwnPropertyDescriptor(data, key)).toEqual(
        Object.getOwnPropertyDescriptor(expected.request.data, key),
      );
    }
  }
}

const TOKEN = "APA91bHFOtaQGSwupt5l1og";

const dataKey = fc.oneof(
  fc.string(),
  fc.constantFrom("__proto__", "from", "google", "googleX", "constructor", "toString", "0", "10", "é", "k"),
);
const dataValue = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ minLength: 60, maxLength: 70 }),
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 1 }),
);
/** `data` as JSON text, so that `__proto__` is an own key as it is in parsed payloads. */
const dataText = fc
  .array(fc.tuple(dataKey, dataValue), { maxLength: 6 })
  .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`);

const field = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
const request = fc.record(
  {
    to: field(fc.oneof(fc.constant(TOKEN), fc.constant("/topics/news"), fc.string(), fc.integer())),
    message_id: field(fc.oneof(fc.string(), fc.constant(""), fc.integer(), fc.constant(null))),
    data: field(fc.oneof(dataText, fc.constant("[]"), fc.constant('"x"'), fc.constant("null"))),
    notification: field(fc.jsonValue({ maxDepth: 1 })),
    collapse_key: field(fc.oneof(fc.string(), fc.integer())),
    time_to_live: field(fc.oneof(fc.integer({ min: -2, max: 2419202 }), fc.double(), fc.string())),
    delay_while_idle: field(fc.oneof(fc.boolean(), fc.string())),
    delivery_receipt_requested: field(fc.oneof(fc.boolean(), fc.constant(1))),
    dry_run: field(fc.oneof(fc.boolean(), fc.constant(null))),
    content_available: field(fc.oneof(fc.boolean(), fc.string())),
    priority: field(fc.oneof(fc.constantFrom("normal", "high", "low"), fc.integer())),
    condition: field(fc.oneof(fc.string(), fc.boolean())),
  },
  { requiredKeys: [] },
);
/** The request as JSON text (`data` spliced in as text). */
const requestText = request.map((r) => {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(r)) {
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(k)}:${k === "data" ? String(v) : JSON.stringify(v)}`);
  }
  return `{${parts.join(",")}}`;
});

describe("validateDownstream matches its reference", () => {
  test("JSON text and the same text parsed (property)", () => {
    fc.assert(
      fc.property(requestText, (text) => {
        same(text);
        same(JSON.parse(text));
      }),
      { numRuns: 3000 },
    );
  });

  test("valid requests with data of every kind (property)", () => {
    fc.assert(
      fc.property(dataText, fc.oneof(fc.constant(TOKEN), fc.constant("/topics/a")), (data, to) => {
        const text = `{"to":"${to}","message_id":"m","data":${data}}`;
        same(text);
        same(JSON.parse(text));
      }),
      { numRuns: 3000 },
    );
  });

  test("data sizes around the limit, any characters (property)", () => {
    const long = fc.string({ unit: "binary", minLength: 60, maxLength: 1400 });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string({ maxLength: 70 }), long), { maxLength: 4 }), (entries) => {
        const data = entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",");
        const text = `{"to":"${TOKEN}","message_id":"m","data":{${data}}}`;
        same(text);
        same(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  test("edge cases", () => {
    const big = "x".repeat(4000);
    for (const text of [
      `{"to":"${TOKEN}","message_id":"m","data":{"__proto__":"p","k":"v"}}`,
      `{"to":"${TOKEN}","message_id":"m","data":{"__proto__":{"a":1}}}`,
      `{"to":"${TOKEN}","message_id":"m","data":{"k":"${big}","l":"${"y".repeat(85)}"}}`,
      `{"to":"${TOKEN}","message_id":"m","data":{"k":"${big}","l":"${"y".repeat(95)}"}}`,
      `{"to":"${TOKEN}","message_id":"m","data":{"é":"${"é".repeat(40)}","\\ud800":"\\udc00x"}}`,
      `{"to":"${TOKEN}","message_id":"m","data":{"2":"b","1":"a","z":1.5e300,"y":false}}`,
      `{"to":"${TOKEN}","message_id":"m","data":{"k":"v","google.x":"v"}}`,
      `{"to":"${TOKEN}","message_id":"m","data":{}}`,
      `{"to":"${TOKEN}","message_id":"m","data":{"k":"${"é".repeat(2047)}"}}`,
      `{"to":"${TOKEN}","message_id":"m","data":{"k":"${"é".repeat(2048)}"}}`,
      `{"to":"${TOKEN}","message_id":"m","data":{"${"€".repeat(700)}":"${"😀".repeat(500)}"}}`,
    ]) {
      same(text);
      same(JSON.parse(text));
    }
  });
});
