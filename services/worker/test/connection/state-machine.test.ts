import { describe, expect, it } from "vitest";
import type { ConnectionState } from "../../src/connection/contract.ts";
import { IllegalStateError } from "../../src/connection/errors.ts";
import { ConnectionLifecycle, canTransition, TRANSITIONS } from "../../src/connection/state-machine.ts";
import { recordingLogger } from "./support/recording-logger.ts";

const STATES: ConnectionState[] = ["connecting", "authenticating", "online", "draining", "closed"];

describe("ConnectionLifecycle", () => {
  it("starts connecting and walks the happy path, logging and notifying each change", () => {
    const log = recordingLogger();
    const seen: string[] = [];
    const lc = new ConnectionLifecycle(log, (s, p, r) => seen.push(`${p}>${s}:${r}`));
    expect(lc.state).toBe("connecting");
    lc.set("authenticating", "tls");
    lc.set("online", "bound");
    lc.set("draining", "control");
    lc.set("closed", "server closed");
    expect(seen).toEqual([
      "connecting>authenticating:tls",
      "authenticating>online:bound",
      "online>draining:control",
      "draining>closed:server closed",
    ]);
    expect(log.records.map((r) => (r.obj as { state: string }).state)).toEqual([
      "authenticating",
      "online",
      "draining",
      "closed",
    ]);
  });

  it("rejects every transition not in the table with IllegalStateError and keeps the state", () => {
    for (const from of STATES) {
      for (const to of STATES) {
        if (canTransition(from, to)) continue;
        const lc = new ConnectionLifecycle(recordingLogger(), () => undefined);
        // Walk to `from` along a legal path.
        const path: Record<ConnectionState, ConnectionState[]> = {
          connecting: [],
          authenticating: ["authenticating"],
          online: ["authenticating", "online"],
          draining: ["authenticating", "online", "draining"],
          closed: ["closed"],
        };
        for (const step of path[from]) lc.set(step, "walk");
        expect(() => lc.set(to, "bad")).toThrow(IllegalStateError);
        expect(lc.state).toBe(from);
        expect(lc.trySet(to, "bad")).toBe(false);
      }
    }
  });

  it("closed is terminal and every state can close", () => {
    expect(TRANSITIONS.closed).toEqual([]);
    for (const s of STATES.filter((s) => s !== "closed")) expect(canTransition(s, "closed")).toBe(true);
  });

  it("assert() guards operations by state", () => {
    const lc = new ConnectionLifecycle(recordingLogger(), () => undefined);
    expect(() => lc.assert(["online"], "send()")).toThrow(/send\(\) is not allowed in state connecting/);
    lc.assert(["connecting"], "open()");
  });
});
