// Shared fixtures for the Redis-backed tests.
import { type ServerHandle, startRedis } from "@ccs/testkit";
import { afterAll, beforeAll } from "vitest";
import { type Assignment, createKeySchema, type KeySchema, RedisNodes } from "../src/index.ts";

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

/**
 * For a describe block: starts `n` Redis servers before its tests and disposes them (and every client
 * opened through `open()`) after. `servers()` gives the handles, e.g. to kill or pause one.
 */
export function useRedisNodes(n: number): { servers(): readonly ServerHandle[]; open(): RedisNodes } {
  let servers: ServerHandle[] = [];
  const opened: RedisNodes[] = [];
  beforeAll(async () => {
    servers = await startRedisNodes(n);
  });
  afterAll(async () => {
    await Promise.allSettled(opened.map((c) => c.close()));
    await Promise.allSettled(servers.map((s) => s.dispose()));
  });
  return {
    servers: () => servers,
    open: () => {
      const c = nodesFor(servers);
      opened.push(c);
      return c;
    },
  };
}

/** An assignment document as the leader writes it (one sender "1" with two slots). */
export function assignmentDoc(
  fields: Pick<Assignment, "token" | "version" | "slots"> & Partial<Pick<Assignment, "leaderId">>,
): Assignment {
  return {
    leaderId: "test",
    writtenAt: Date.now(),
    senders: [{ senderId: "1", connections: 2 }],
    ...fields,
  };
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
