import { describe, expect, test } from "vitest";
import { createLogger, errorFields, type Logger, redactUrlCredentials, silentLogger } from "../src/index.ts";
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

describe("redactUrlCredentials", () => {
  test("masks a password, or a token in the user name, and passes plain URLs through", () => {
    expect(redactUrlCredentials("redis://:s3cret@10.0.0.1:6379")).toBe("redis://:REDACTED@10.0.0.1:6379");
    expect(redactUrlCredentials("redis://user:s3cret@host:6379/0")).not.toContain("s3cret");
    expect(redactUrlCredentials("nats://t0ken@host:4222")).toBe("nats://REDACTED@host:4222");
    expect(redactUrlCredentials("redis://127.0.0.1:6379")).toBe("redis://127.0.0.1:6379");
  });

  test("never echoes text that is not a URL", () => {
    expect(redactUrlCredentials("not a url with s3cret")).toBe("(unparseable URL)");
  });
});
