import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  CoordinatorConfigError,
  defaults,
  loadCoordinatorConfig,
  parseCoordinatorConfig,
} from "../src/index.ts";

describe("coordinator configuration", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ccs-coord-config-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("resolves documented defaults", async () => {
    const c = await parseCoordinatorConfig({});
    expect(c.redisUrls).toEqual([...defaults.DEFAULT_REDIS_URLS]);
    expect(c.natsServers).toEqual([...defaults.DEFAULT_NATS_SERVERS]);
    expect(c.dedupeWindowMs).toBe(24 * 3600_000);
    expect(c.leaderTtlMs).toBe(defaults.DEFAULT_LEADER_TTL_MS);
    expect(c.redisKeyPrefix).toBe("ccs:");
    expect(c.subjectPrefix).toBe("ccs");
    expect(c.httpPort).toBe(defaults.DEFAULT_HTTP_PORT);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("reads a JSON file, lets the environment override it, and resolves senders and their keys", async () => {
    await writeFile(
      join(dir, "senders.json"),
      JSON.stringify({ senders: [{ senderId: "9", apiKeyEnv: "K9", connections: 3 }] }),
    );
    await writeFile(
      join(dir, "coordinator.json"),
      JSON.stringify({
        sendersFile: "senders.json",
        redis: { urls: ["redis://a:1"], keyPrefix: "x:" },
        http: { port: 1234 },
      }),
    );
    const c = await loadCoordinatorConfig({
      CCS_COORDINATOR_CONFIG: join(dir, "coordinator.json"),
      CCS_REDIS_URLS: "redis://h1:1,redis://h2:2,redis://h3:3",
      CCS_HTTP_PORT: "0",
      CCS_SENDERS: JSON.stringify([{ senderId: "5", apiKeyEnv: "K5" }]),
      K5: "secret-five",
    });
    expect(c.redisUrls).toHaveLength(3);
    expect(c.redisKeyPrefix).toBe("x:");
    expect(c.httpPort).toBe(0);
    expect(c.sendersFile).toBe(join(dir, "senders.json"));
    expect(c.inlineSenders.map((s) => s.senderId)).toEqual(["5"]);
    expect(JSON.stringify(c)).not.toContain("secret-five");
  });

  it("rejects invalid values naming the field", async () => {
    await expect(
      parseCoordinatorConfig({ redis: { urls: ["redis://a:1", "redis://b:2"] } }),
    ).rejects.toBeInstanceOf(CoordinatorConfigError);
    await expect(parseCoordinatorConfig({ leader: { ttlMs: 10 } })).rejects.toThrow(/leader.ttlMs/);
    await expect(parseCoordinatorConfig({ upstream: { dedupeWindowMs: 5_000 } })).rejects.toThrow(
      /dedupeWindowMs/,
    );
    await expect(loadCoordinatorConfig({ CCS_HTTP_PORT: "abc" })).rejects.toThrow(/CCS_HTTP_PORT/);
    await expect(parseCoordinatorConfig({ nats: { servers: ["http://x"] } })).rejects.toThrow(/nats.servers/);
  });

  it("names a bad Redis URL without echoing its password", async () => {
    const failure = parseCoordinatorConfig({ redis: { urls: ["http://:pw-not-for-logs@host:6379"] } });
    await expect(failure).rejects.toThrow(/redis.urls/);
    await expect(failure).rejects.not.toThrow(/pw-not-for-logs/);
  });
});
