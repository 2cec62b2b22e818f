import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { InvalidConnectionOptionError } from "../../src/connection/errors.ts";
import {
  DEFAULT_ANSWER_TIMEOUT_MS,
  DEFAULT_BACKOFF,
  DEFAULT_DOMAIN,
  DEFAULT_WINDOW_SIZE,
  parseSlotOptions,
  type SlotOptions,
} from "../../src/connection/options.ts";

const base: SlotOptions = {
  senderId: "123456789012",
  apiKey: "super-secret-key",
  slotIndex: 0,
  upstream: () => undefined,
  service: { host: "127.0.0.1", port: 5235 },
};

describe("parseSlotOptions", () => {
  it("fills defaults; certificate verification on by default", () => {
    const o = parseSlotOptions(base);
    expect(o.domain).toBe(DEFAULT_DOMAIN);
    expect(o.windowSize).toBe(DEFAULT_WINDOW_SIZE);
    expect(o.answerTimeoutMs).toBe(DEFAULT_ANSWER_TIMEOUT_MS);
    expect(o.backoff).toEqual(DEFAULT_BACKOFF);
    expect(o.service.rejectUnauthorized).toBe(true);
    expect(o.apiKey.reveal()).toBe("super-secret-key");
  });

  it("does not mutate the caller's object and merges partial backoff", () => {
    const input = { ...base, backoff: { initialMs: 10 } };
    const frozen = JSON.stringify(input);
    const o = parseSlotOptions(input);
    expect(JSON.stringify(input)).toBe(frozen);
    expect(o.backoff).toEqual({ ...DEFAULT_BACKOFF, initialMs: 10 });
  });

  it.each([
    [{ senderId: "" }, /senderId/],
    [{ apiKey: "" }, /apiKey/],
    [{ windowSize: 0 }, /windowSize/],
    [{ answerTimeoutMs: 1.5 }, /answerTimeoutMs/],
    [{ service: { host: "h", port: 70000 } }, /service.port/],
    [{ backoff: { initialMs: 100, maxMs: 10 } }, /maxMs/],
    [{ backoff: { jitter: 2 } }, /jitter/],
    [{ recycleGhostFraction: 0 }, /recycleGhostFraction/],
  ])("rejects %j", (patch, message) => {
    expect(() => parseSlotOptions({ ...base, ...patch } as SlotOptions)).toThrow(
      InvalidConnectionOptionError,
    );
    expect(() => parseSlotOptions({ ...base, ...patch } as SlotOptions)).toThrow(message);
  });

  it("never prints the API key", () => {
    const o = parseSlotOptions(base);
    expect(JSON.stringify(o)).not.toContain("super-secret-key");
    expect(inspect(o, { depth: 5 })).not.toContain("super-secret-key");
    expect(String(o.apiKey)).not.toContain("super-secret-key");
  });
});
