/**
 * Property: every downstream message gets exactly one answer, and it is the one the documented rules
 * give. The oracle below is written from the documents, not from the emulator:
 * - `time_to_live` must be a JSON number (000 JSON_TYPE_ERROR text) from 0 to 2419200 (004 INVALID_TTL);
 * - `delay_while_idle` must be a JSON boolean (004 JSON_TYPE_ERROR text);
 * - `data` keys plus values at most 4096 UTF-8 bytes; keys `from` and `google*` reserved (ccs-facts.md).
 * Anything else well-formed to an auto-registered token is ACKed.
 */
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestEmulator, type TestEmulator, token } from "../support/fixtures.ts";
import type { RawXmppClient } from "../support/raw-xmpp-client.ts";

let t: TestEmulator;
let c: RawXmppClient;

beforeAll(async () => {
  t = await startTestEmulator();
  c = await t.clients.online();
});
afterAll(async () => {
  await t.stop();
});

const MAX_TTL = 2_419_200;

const ttlArb = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: 0, max: MAX_TTL }),
  fc.integer({ min: -5, max: 5 }),
  fc.integer({ min: MAX_TTL - 3, max: MAX_TTL + 3 }),
  fc.constantFrom("abc", "ten", "x1"),
  fc.boolean(),
);
const dwiArb = fc.oneof(fc.constant(undefined), fc.boolean(), fc.constantFrom("yes", "not-boolean", "1"));
const keyArb = fc.constantFrom(
  "a",
  "b",
  "score",
  "from_x",
  "xgoogle",
  "From",
  "from",
  "google.c.a.e",
  "googleX",
);
const valueArb = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer({ min: 1000, max: 4200 }).map((n) => "v".repeat(n)),
  fc.integer({ min: 300, max: 1400 }).map((n) => "€".repeat(n)),
);
const dataArb = fc.option(fc.dictionary(keyArb, valueArb, { maxKeys: 3 }), { nil: undefined });

function expectedError(ttl: unknown, dwi: unknown, data: Record<string, string> | undefined): boolean {
  if (ttl !== undefined && (typeof ttl !== "number" || ttl < 0 || ttl > MAX_TTL)) return true;
  if (dwi !== undefined && typeof dwi !== "boolean") return true;
  if (data !== undefined) {
    let bytes = 0;
    for (const [k, v] of Object.entries(data)) {
      if (k === "from" || k.startsWith("google")) return true;
      bytes += Buffer.byteLength(k, "utf8") + Buffer.byteLength(v, "utf8");
    }
    if (bytes > 4096) return true;
  }
  return false;
}

it("answers every downstream message exactly once, ACK or INVALID_JSON as the documented rules say", async () => {
  await fc.assert(
    fc.asyncProperty(ttlArb, dwiArb, dataArb, async (ttl, dwi, data) => {
      const to = token();
      const payload: Record<string, unknown> = { to };
      if (ttl !== undefined) payload.time_to_live = ttl;
      if (dwi !== undefined) payload.delay_while_idle = dwi;
      if (data !== undefined) payload.data = data;
      const id = await c.sendDownstream(payload);
      const answer = await c.answer(id);
      const invalid = expectedError(ttl, dwi, data);
      expect(answer.json.message_type, JSON.stringify(payload).slice(0, 300)).toBe(invalid ? "nack" : "ack");
      if (invalid) expect(answer.json.error).toBe("INVALID_JSON");
      expect(answer.json.from).toBe(to);
    }),
    { numRuns: 150 },
  );
  await c.ping();
  // Exactly one answer per message: no second ACK/NACK left over for any id.
  const leftovers = c.pending().filter((i) => i.kind === "stanza" && /"message_type":"n?ack"/.test(i.raw));
  expect(leftovers).toEqual([]);
});
