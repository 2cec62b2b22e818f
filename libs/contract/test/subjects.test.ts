import { describe, expect, it } from "vitest";
import { ContractError, createSubjects, defaultStreamNames, isValidSenderId } from "../src/index.ts";

describe("subjects", () => {
  it("names every subject, stream and consumer from the prefix, and sanitizes categories", () => {
    const s = createSubjects();
    expect([
      s.down("1"),
      s.out("1"),
      s.internalUp("1"),
      s.up("1", "com.example.app"),
      s.receipt("1"),
    ]).toEqual(["ccs.down.1", "ccs.out.1", "ccs.internal.up.1", "ccs.up.1.com.example.app", "ccs.receipt.1"]);
    expect([s.downAll, s.outAll, s.internalUpAll, s.upAll, s.receiptAll]).toEqual([
      "ccs.down.*",
      "ccs.out.*",
      "ccs.internal.up.*",
      "ccs.up.>",
      "ccs.receipt.*",
    ]);
    expect([s.downStream, s.outStream, s.internalUpStream, s.upStream, s.receiptStream]).toEqual([
      "CCS_DOWN",
      "CCS_OUTCOMES",
      "CCS_INTERNAL_UP",
      "CCS_UP",
      "CCS_RECEIPT",
    ]);
    expect(s.senderConsumer("1")).toBe("ccs-worker-1");
    expect(s.senderConsumer("1", "edge")).toBe("edge-1");
    expect(s.upstreamConsumer).toBe("ccs-coordinator-upstream");
    expect(s.up("1", undefined)).toBe("ccs.up.1._");
    expect(s.upOf("1")).toBe("ccs.up.1.>");
    expect(s.up("1", "a.*.b>c d..e")).toBe("ccs.up.1.a._.b_c_d._.e");
  });

  it("derives stream names from another prefix unless each is configured", () => {
    expect(defaultStreamNames("acme.eu")).toEqual({
      down: "ACME_EU_DOWN",
      out: "ACME_EU_OUTCOMES",
      internalUp: "ACME_EU_INTERNAL_UP",
      up: "ACME_EU_UP",
      receipt: "ACME_EU_RECEIPT",
    });
    const s = createSubjects("acme", { up: "UPS", down: undefined });
    expect([s.upStream, s.downStream, s.down("7")]).toEqual(["UPS", "ACME_DOWN", "acme.down.7"]);
  });

  it("refuses sender ids, prefixes and stream names that would break a subject", () => {
    const s = createSubjects();
    for (const bad of ["a.b", "", "a b", "a*", "x".repeat(129)]) {
      expect(isValidSenderId(bad)).toBe(false);
      expect(() => s.down(bad)).toThrow(ContractError);
    }
    expect(isValidSenderId("123456789012")).toBe(true);
    expect(() => createSubjects("a..b")).toThrow(ContractError);
    expect(() => createSubjects("ccs", { out: "bad name" })).toThrow(ContractError);
  });
});
