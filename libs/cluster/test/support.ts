// Shared fixtures for the Redis-backed tests.
import { type ServerHandle, startRedis } from "@ccs/testkit";
import { createKeySchema, type KeySchema, RedisNodes } from "../src/index.ts";

let counter = 0;

/** A fresh key prefix per test, so tests sharing a server never see each other's keys. */
export function freshKeys(): KeySchema {
  counter++;
  return createKeySchema(`t${process.pid}-${counter}-${Date.now().toString(36)}:`);
}

export async function startRedisNodes(n: number): Promise<ServerHandle[]> {
  return Promise.all(Array.from({ length: n }, () => startRedis({ mode: "local" })));
}

export function nodesFor(servers: readonly ServerHandle[], commandTimeoutMs = 300): RedisNodes {
  return new RedisNodes({ urls: servers.map((s) => s.url), commandTimeoutMs });
}

/** Resolves with the first emission of `event`, or rejects after `timeoutMs`. */
export function nextEvent<T extends unknown[]>(
  emitter: { once(event: string, listener: (...args: T) => void): unknown },
  event: string,
  timeoutMs: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} event within ${timeoutMs} ms`)), timeoutMs);
    emitter.once(event, (...args: T) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}
