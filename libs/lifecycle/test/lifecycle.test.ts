import { describe, expect, it } from "vitest";
import { IllegalStateError, Lifecycle, type TransitionTable } from "../src/index.ts";

type S = "idle" | "running" | "stopping" | "stopped";
const TABLE: TransitionTable<S> = {
  idle: ["running", "stopped"],
  running: ["stopping"],
  stopping: ["stopped"],
  stopped: [],
};

function make(onChange?: (s: S, p: S, r: string) => void) {
  const lines: { obj: object; msg: string | undefined }[] = [];
  const log = (obj: object, msg?: string) => lines.push({ obj, msg });
  const lifecycle = new Lifecycle<S>({
    component: "thing",
    initial: "idle",
    transitions: TABLE,
    logger: { debug: log, info: log },
    ...(onChange === undefined ? {} : { onChange }),
  });
  return { lifecycle, lines };
}

describe("Lifecycle", () => {
  it("moves along the table, logs each change and tells the listener", () => {
    const seen: string[] = [];
    const { lifecycle, lines } = make((s, p, r) => seen.push(`${p}>${s}:${r}`));
    lifecycle.set("running", "start");
    lifecycle.set("stopping", "close");
    expect(lifecycle.state).toBe("stopping");
    expect(seen).toEqual(["idle>running:start", "running>stopping:close"]);
    expect(lines.map((l) => l.msg)).toEqual(["thing idle → running", "thing running → stopping"]);
    expect(lines[0]?.obj).toMatchObject({
      component: "thing",
      state: "running",
      previous: "idle",
      reason: "start",
    });
  });

  it("throws the one IllegalStateError for a transition not in the table and keeps the state", () => {
    const { lifecycle, lines } = make();
    expect(() => lifecycle.set("stopping", "close")).toThrow(IllegalStateError);
    try {
      lifecycle.set("stopping", "close");
    } catch (err) {
      expect(err).toMatchObject({ component: "thing", state: "idle" });
      expect(String(err)).toMatch(/thing: illegal state transition idle → stopping \(close\)/);
    }
    expect(lifecycle.state).toBe("idle");
    expect(lines).toHaveLength(0);
  });

  it("trySet returns false instead of throwing; terminal, is, can and assert read the table", () => {
    const { lifecycle } = make();
    expect(lifecycle.trySet("stopping", "x")).toBe(false);
    expect(lifecycle.trySet("stopped", "x")).toBe(true);
    expect(lifecycle.terminal).toBe(true);
    expect(lifecycle.is("stopped", "idle")).toBe(true);
    expect(lifecycle.can("running")).toBe(false);
    expect(() => lifecycle.assert(["running"], "send")).toThrow(/send is not allowed in state stopped/);
    expect(() => lifecycle.assert(["stopped"], "close")).not.toThrow();
  });
});
