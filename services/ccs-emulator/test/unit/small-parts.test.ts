import { describe, expect, it } from "vitest";
import { DueQueue } from "../../src/connection/due-queue.ts";
import { decodePlain, keyMatches } from "../../src/connection/sasl.ts";
import { Faults, readFaults } from "../../src/faults.ts";
import { createRandom } from "../../src/random.ts";
import { Deque } from "../../src/upstream/deque.ts";

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

describe("SASL PLAIN", () => {
  it("accepts ID@gcm.googleapis.com and bare ID, with or without authzid", () => {
    expect(decodePlain(b64("\u0000123@gcm.googleapis.com\u0000key"))).toEqual({
      senderId: "123",
      password: "key",
    });
    expect(decodePlain(b64("\u0000123\u0000key"))).toEqual({ senderId: "123", password: "key" });
    expect(decodePlain(b64("authz\u0000123\u0000key"))).toEqual({ senderId: "123", password: "key" });
  });

  it("rejects malformed input", () => {
    expect(decodePlain("")).toBeNull();
    expect(decodePlain("***")).toBeNull();
    expect(decodePlain(b64("no-separators"))).toBeNull();
    expect(decodePlain(b64("\u0000a@other.example\u0000key"))).toBeNull();
    expect(decodePlain(b64("\u0000123\u0000"))).toBeNull();
  });

  it("compares keys exactly", () => {
    expect(keyMatches("abc", "abc")).toBe(true);
    expect(keyMatches("abc", "abd")).toBe(false);
    expect(keyMatches("abc", "abcd")).toBe(false);
  });
});

describe("DueQueue", () => {
  it("releases items in due order (FIFO on ties) with one timer", async () => {
    const out: string[] = [];
    let resolve = () => {};
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    const q = new DueQueue<string>((x) => {
      out.push(x);
      if (out.length === 4) resolve();
    });
    const t = Date.now();
    q.schedule(t + 30, "c");
    q.schedule(t + 10, "a");
    q.schedule(t + 10, "b");
    q.schedule(t + 40, "d");
    expect(q.size).toBe(4);
    await done;
    expect(out).toEqual(["a", "b", "c", "d"]);
  });

  it("clear() cancels everything", () => {
    const q = new DueQueue<number>(() => {
      throw new Error("must not fire");
    });
    q.schedule(Date.now() + 5, 1);
    expect(q.clear()).toBe(1);
    expect(q.size).toBe(0);
  });
});

describe("Deque", () => {
  it("keeps FIFO order across shift and unshiftAll", () => {
    const d = new Deque<number>();
    for (let i = 0; i < 3000; i++) d.push(i);
    for (let i = 0; i < 2000; i++) expect(d.shift()).toBe(i);
    d.unshiftAll([-2, -1]);
    expect(d.length).toBe(1002);
    expect(d.shift()).toBe(-2);
    expect(d.shift()).toBe(-1);
    expect(d.shift()).toBe(2000);
  });
});

describe("faults", () => {
  it("validates and applies a NACK burst, then stops", () => {
    const f = new Faults();
    f.set(readFaults({ nackBurst: { code: "SERVICE_UNAVAILABLE", count: 2 } }), 0);
    const r = createRandom(1);
    expect(f.downstreamActive).toBe(true);
    expect([f.pickNack(r), f.pickNack(r), f.pickNack(r)]).toEqual([
      "SERVICE_UNAVAILABLE",
      "SERVICE_UNAVAILABLE",
      null,
    ]);
    expect(f.downstreamActive).toBe(false);
    expect(f.view(0).nackBurst).toBeUndefined();
  });

  it("refuses auth until a deadline, or for a while", () => {
    const f = new Faults();
    f.set(readFaults({ refuseAuth: { untilMs: 1000 } }), 0);
    expect(f.authRefused(999)).toBe(true);
    expect(f.authRefused(1000)).toBe(false);
    f.set(readFaults({ refuseAuth: { forMs: 50 } }), 100);
    expect(f.authRefused(149)).toBe(true);
    expect(f.view(120).refuseAuth).toEqual({ untilMs: 150 });
    f.set(readFaults({ refuseAuth: true }), 0);
    expect(f.view(0).refuseAuth).toBe(true);
  });

  it("rejects unknown codes and fields", () => {
    expect(() => readFaults({ nack: { NOPE: 0.1 } })).toThrow(/NACK code/);
    expect(() => readFaults({ dropAnswers: 2 })).toThrow(/between 0 and 1/);
    expect(() => readFaults({ surprise: 1 })).toThrow(/unknown field/);
  });
});
