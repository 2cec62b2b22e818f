import { describe, expect, test } from "vitest";
import { InvalidOptionError, WaitTimeoutError, waitFor } from "../src/index.ts";

describe("waitFor", () => {
  test("returns the first truthy probe value", async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? `done after ${calls}` : undefined), {
      timeoutMs: 2_000,
      intervalMs: 5,
      description: "three calls",
    });
    expect(value).toBe("done after 3");
  });

  test("treats false and thrown errors as not yet", async () => {
    let calls = 0;
    const value = await waitFor(
      async () => {
        calls++;
        if (calls === 1) {
          return false;
        }
        if (calls === 2) {
          throw new Error("not yet");
        }
        return 42;
      },
      { timeoutMs: 2_000, intervalMs: 5, description: "a number" },
    );
    expect(value).toBe(42);
  });

  test("times out with a typed error naming the description and the last error", async () => {
    const started = Date.now();
    const err = await waitFor(
      () => {
        throw new Error("connection refused (probe)");
      },
      { timeoutMs: 150, intervalMs: 10, description: "the moon to turn blue" },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    const timeout = err as WaitTimeoutError;
    expect(timeout.description).toBe("the moon to turn blue");
    expect(timeout.message).toContain("the moon to turn blue");
    expect(timeout.message).toContain("connection refused (probe)");
    expect(timeout.lastError).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  test("a probe that never settles cannot outlive the deadline", async () => {
    const started = Date.now();
    const err = await waitFor(() => new Promise<boolean>(() => undefined), {
      timeoutMs: 100,
      description: "a hanging probe",
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  test("rejects invalid options", async () => {
    await expect(waitFor(() => true, { timeoutMs: -1, description: "x" })).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
  });
});
