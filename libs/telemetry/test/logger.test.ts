import { inspect } from "node:util";
import { describe, expect, test } from "vitest";
import {
  createLogger,
  DEFAULT_LOG_LEVEL,
  DEFAULT_REDACT_PATHS,
  REDACTED,
  redactText,
  Secret,
} from "../src/index.ts";
import { CaptureStream } from "./capture.ts";

const API_KEY = "AIzaSyD-very-secret-api-key-123";
const PASSWORD = "hunter2-p@ssw0rd";

describe("createLogger", () => {
  test("writes structured JSON lines at the configured level with service and bindings", () => {
    const out = new CaptureStream();
    const log = createLogger({ service: "worker", level: "warn", destination: out, base: { region: "eu" } });
    log.info({ skipped: true }, "below the level");
    log.warn({ attempt: 3 }, "retrying");
    log.error("plain message");
    const child = log.child({ connectionId: "c-1" });
    child.error({ code: "SERVICE_UNAVAILABLE" }, "nack");
    const records = out.records();
    expect(records).toHaveLength(3);
    expect(records[0]).toMatchObject({
      level: "warn",
      service: "worker",
      region: "eu",
      attempt: 3,
      msg: "retrying",
    });
    expect(typeof records[0]?.time).toBe("string");
    expect(records[1]).toMatchObject({ level: "error", msg: "plain message" });
    expect(records[2]).toMatchObject({ level: "error", connectionId: "c-1", code: "SERVICE_UNAVAILABLE" });
    expect(log.level).toBe("warn");
  });

  test("defaults to info", () => {
    const out = new CaptureStream();
    const log = createLogger({ service: "s", destination: out });
    expect(DEFAULT_LOG_LEVEL).toBe("info");
    log.debug("hidden");
    log.info("shown");
    expect(out.records().map((r) => r.msg)).toEqual(["shown"]);
  });

  test("silent writes nothing", () => {
    const out = new CaptureStream();
    createLogger({ service: "s", level: "silent", destination: out }).fatal("nothing");
    expect(out.text).toBe("");
  });

  test("redacts api keys, passwords and tokens at the top level and nested", () => {
    const out = new CaptureStream();
    const log = createLogger({ service: "s", destination: out, redactPaths: ["custom.field"] });
    log.info(
      {
        apiKey: API_KEY,
        password: PASSWORD,
        ccs: {
          senderId: "1234",
          apiKey: API_KEY,
          auth: { password: PASSWORD, nested: { api_key: API_KEY } },
        },
        headers: { authorization: `key=${API_KEY}` },
        custom: { field: "custom-secret-value" },
      },
      "connecting",
    );
    const text = out.text;
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain("custom-secret-value");
    const [record] = out.records();
    expect(record).toMatchObject({
      apiKey: REDACTED,
      password: REDACTED,
      ccs: {
        senderId: "1234",
        apiKey: REDACTED,
        auth: { password: REDACTED, nested: { api_key: REDACTED } },
      },
      headers: { authorization: REDACTED },
      custom: { field: REDACTED },
    });
    expect(DEFAULT_REDACT_PATHS).toContain("*.apiKey");
  });
});

describe("Secret", () => {
  test("never leaks through JSON, template strings, String(), util.inspect or the logger", () => {
    const secret = new Secret(API_KEY);
    const config = { senderId: "1234", apiKey: secret, other: { s: secret } };
    expect(secret.reveal()).toBe(API_KEY);
    expect(JSON.stringify(config)).not.toContain(API_KEY);
    expect(JSON.stringify(config)).toContain(REDACTED);
    expect(`${secret}`).toBe(REDACTED);
    expect(`key=${secret}`).toBe(`key=${REDACTED}`);
    expect(String(secret)).toBe(REDACTED);
    // biome-ignore lint/style/useTemplate: this line tests the + operator's own coercion
    expect("concat:" + secret).toBe(`concat:${REDACTED}`);
    expect(inspect(config, { depth: 10 })).not.toContain(API_KEY);
    expect(inspect(secret)).toBe(REDACTED);
    expect(Object.keys(secret)).toEqual([]);
    expect(JSON.stringify(structuredClone({ s: secret }))).not.toContain(API_KEY);

    const out = new CaptureStream();
    // Under a field name that is not in the redaction list, the Secret protects itself.
    createLogger({ service: "s", destination: out }).info({ credential: secret, config }, `using ${secret}`);
    expect(out.text).not.toContain(API_KEY);
    expect(out.records()[0]).toMatchObject({ credential: REDACTED, msg: `using ${REDACTED}` });
  });
});

describe("redactText", () => {
  test("scrubs every known secret value from free text", () => {
    const message = `auth failed for ${API_KEY} (retrying with ${API_KEY}); password=${PASSWORD}`;
    const clean = redactText(message, [API_KEY, new Secret(PASSWORD), ""]);
    expect(clean).toBe(`auth failed for ${REDACTED} (retrying with ${REDACTED}); password=${REDACTED}`);
  });

  test("replaces a longer secret before one it contains", () => {
    expect(redactText("abc-123 and abc", ["abc", "abc-123"])).toBe(`${REDACTED} and ${REDACTED}`);
  });

  test("leaves text without secrets unchanged", () => {
    expect(redactText("nothing to see", [API_KEY])).toBe("nothing to see");
  });
});
