import { describe, expect, test } from "vitest";
import {
  ContainerRuntimeUnavailableError,
  DETECT_TIMEOUT_MS,
  detectContainerRuntime,
  freePort,
  InvalidOptionError,
  isPortFree,
  resolveInfraMode,
} from "../src/index.ts";

const runtime = await detectContainerRuntime();

describe("infrastructure mode", () => {
  test("detectContainerRuntime answers quickly and caches its answer", async () => {
    const started = Date.now();
    const again = await detectContainerRuntime();
    expect(Date.now() - started).toBeLessThan(DETECT_TIMEOUT_MS);
    expect(again).toBe(runtime);
    if (!runtime.available) {
      expect(runtime.reason.length).toBeGreaterThan(0);
    }
  });

  test("explicit local wins; env CCS_TEST_INFRA is read; invalid values are rejected", async () => {
    await expect(resolveInfraMode("local", {})).resolves.toBe("local");
    await expect(resolveInfraMode(undefined, { CCS_TEST_INFRA: "local" })).resolves.toBe("local");
    await expect(resolveInfraMode(undefined, { CCS_TEST_INFRA: "kubernetes" })).rejects.toBeInstanceOf(
      InvalidOptionError,
    );
  });

  test("auto picks container only when a runtime is reachable", async () => {
    await expect(resolveInfraMode("auto", {})).resolves.toBe(runtime.available ? "container" : "local");
    await expect(resolveInfraMode(undefined, {})).resolves.toBe(runtime.available ? "container" : "local");
  });

  test.skipIf(runtime.available)(
    "container requested without a runtime gives a typed error with the reason",
    async () => {
      const err = await resolveInfraMode("container", {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ContainerRuntimeUnavailableError);
      expect((err as ContainerRuntimeUnavailableError).message).toContain("CCS_TEST_INFRA=local");
    },
  );

  test("freePort returns a bindable port", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    await expect(isPortFree(port)).resolves.toBe(true);
  });
});
