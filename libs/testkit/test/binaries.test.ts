import { afterEach, describe, expect, test, vi } from "vitest";
import {
  BinaryNotFoundError,
  findBinary,
  NATS_SERVER_BINARY,
  REDIS_SERVER_BINARY,
  startNats,
  startRedis,
} from "../src/index.ts";

afterEach(() => {
  vi.unstubAllEnvs();
});

describe("server binaries", () => {
  test("nats-server and redis-server are found here (PATH or /usr/sbin)", async () => {
    await expect(findBinary(NATS_SERVER_BINARY)).resolves.toMatch(/nats-server$/);
    await expect(findBinary(REDIS_SERVER_BINARY)).resolves.toMatch(/redis-server$/);
  });

  test("a missing binary gives a typed error that says what to install", async () => {
    const err = await findBinary(
      { name: "ccs-no-such-server", envVar: "CCS_NO_SUCH_BIN" },
      { PATH: "/nonexistent" },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BinaryNotFoundError);
    expect((err as BinaryNotFoundError).message).toContain("apt-get install nats-server redis-server");
    expect((err as BinaryNotFoundError).message).toContain("CCS_NO_SUCH_BIN");
  });

  test("an env override pointing nowhere makes startNats/startRedis fail with BinaryNotFoundError", async () => {
    vi.stubEnv("CCS_NATS_SERVER_BIN", "/nonexistent/nats-server");
    vi.stubEnv("CCS_REDIS_SERVER_BIN", "/nonexistent/redis-server");
    const natsErr = await startNats({ mode: "local" }).catch((e: unknown) => e);
    expect(natsErr).toBeInstanceOf(BinaryNotFoundError);
    expect((natsErr as BinaryNotFoundError).binary).toBe("nats-server");
    const redisErr = await startRedis({ mode: "local" }).catch((e: unknown) => e);
    expect(redisErr).toBeInstanceOf(BinaryNotFoundError);
    expect((redisErr as BinaryNotFoundError).binary).toBe("redis-server");
  });
});
