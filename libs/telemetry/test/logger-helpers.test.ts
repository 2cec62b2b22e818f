import { describe, expect, test } from "vitest";
import { createLogger, errorFields, type Logger, silentLogger } from "../src/index.ts";
import { CaptureStream } from "./capture.ts";

describe("silentLogger", () => {
  test("drops everything and its children are silent too", () => {
    expect(() => silentLogger.info({ a: 1 }, "x")).not.toThrow();
    expect(silentLogger.child({ component: "c" })).toBe(silentLogger);
  });

  test("createLogger's result is a Logger", () => {
    const out = new CaptureStream();
    const log: Logger = createLogger({ service: "s", destination: out });
    log.child({ component: "c" }).info({ n: 1 }, "hello");
    expect(out.records()[0]).toMatchObject({ component: "c", n: 1, msg: "hello" });
  });
});

describe("errorFields", () => {
  test("keeps name, message and code of an Error, nothing else", () => {
    const err = Object.assign(new TypeError("boom"), { code: "E_BOOM", payload: { secret: "x" } });
    expect(errorFields(err)).toEqual({ err: { name: "TypeError", message: "boom", code: "E_BOOM" } });
    expect(errorFields(new Error("plain"))).toEqual({ err: { name: "Error", message: "plain" } });
  });

  test("stringifies anything else as the message", () => {
    expect(errorFields("nope")).toEqual({ err: { message: "nope" } });
    expect(errorFields(42)).toEqual({ err: { message: "42" } });
  });
});
