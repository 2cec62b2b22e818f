// Measures the Redis memory cost of upstream de-duplication markers on a real redis-server:
// INFO memory before and after writing N markers exactly as DedupeStore does
// (`SET <prefix>up:<22-char digest> 1 PX <window> NX`), extrapolated to one million.
// Usage: node services/coordinator/bench/dedupe-memory.ts [N=1000000]
import { createKeySchema } from "@ccs/cluster";
import { upstreamDedupeDigest } from "@ccs/contract";
import { startRedis } from "@ccs/testkit";
import { Redis } from "ioredis";

const n = Number(process.argv[2] ?? 1_000_000);
const windowMs = 24 * 3600_000;
const server = await startRedis({ mode: "local" });
const redis = new Redis(server.url);
try {
  const usedMemory = async (): Promise<number> => {
    const info = await redis.info("memory");
    const m = /used_memory:(\d+)/.exec(info);
    return Number(m?.[1]);
  };
  const keys = createKeySchema();
  const before = await usedMemory();
  const started = Date.now();
  const batch = 10_000;
  for (let i = 0; i < n; i += batch) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(n, i + batch); j++) {
      const digest = upstreamDedupeDigest({
        kind: "upstream",
        senderId: "123456789012",
        from: `device-token-${j}`,
        messageId: `m-${j}`,
      });
      p.set(keys.upstreamDedupe(digest), "1", "PX", windowMs, "NX");
    }
    await p.exec();
  }
  const after = await usedMemory();
  const count = await redis.dbsize();
  const perKey = (after - before) / count;
  const result = {
    keys: count,
    usedMemoryBefore: before,
    usedMemoryAfter: after,
    bytesPerKey: Math.round(perKey * 10) / 10,
    mibPerMillion: Math.round(((perKey * 1_000_000) / 1024 / 1024) * 10) / 10,
    insertSeconds: (Date.now() - started) / 1000,
    redisVersion: /redis_version:([^\r\n]+)/.exec(await redis.info("server"))?.[1],
  };
  console.log(JSON.stringify(result));
} finally {
  redis.disconnect();
  await server.dispose();
}
