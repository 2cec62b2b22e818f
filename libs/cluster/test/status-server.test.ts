import type { Logger } from "@ccs/telemetry";
import { afterEach, describe, expect, it } from "vitest";
import {
  type Readiness,
  type StatusServer,
  type StatusServerOptions,
  startStatusServer,
} from "../src/index.ts";

interface Warning {
  readonly obj: object;
  readonly msg: string | undefined;
}

function recordingLogger(warnings: Warning[]): Logger {
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (obj, msg) => warnings.push({ obj, msg }),
    error: () => {},
    child: () => logger,
  };
  return logger;
}

const servers: StatusServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(o: Partial<StatusServerOptions> = {}): Promise<StatusServer> {
  const server = await startStatusServer({
    host: "127.0.0.1",
    port: 0,
    status: () => ({ id: "w-1" }),
    readiness: () => ({ ready: true, checks: { nats: true } }),
    logger: recordingLogger([]),
    ...o,
  });
  servers.push(server);
  return server;
}

async function call(server: StatusServer, path: string, method = "GET") {
  const res = await fetch(`http://127.0.0.1:${server.port}${path}`, { method });
  const text = await res.text();
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    cache: res.headers.get("cache-control"),
    json: text === "" ? undefined : (JSON.parse(text) as unknown),
  };
}

describe("startStatusServer", () => {
  it("answers /healthz, /readyz and /status as JSON", async () => {
    const server = await start({ status: async () => ({ id: "c-1", senders: 2 }) });
    expect(server.port).toBeGreaterThan(0);
    expect(await call(server, "/healthz")).toEqual({
      status: 200,
      type: "application/json; charset=utf-8",
      cache: "no-store",
      json: { status: "ok" },
    });
    expect((await call(server, "/readyz")).json).toEqual({ status: "ready", checks: { nats: true } });
    expect(await call(server, "/status?verbose=1")).toMatchObject({
      status: 200,
      json: { id: "c-1", senders: 2 },
    });
    expect((await call(server, "/status", "HEAD")).status).toBe(200);
  });

  it("answers 503 from /readyz while not ready (sync or async readiness)", async () => {
    const notReady: Readiness = { ready: false, checks: { nats: true, redis: false } };
    for (const readiness of [() => notReady, async () => notReady]) {
      const server = await start({ readiness });
      expect(await call(server, "/readyz")).toMatchObject({
        status: 503,
        json: { status: "not ready", checks: { nats: true, redis: false } },
      });
    }
  });

  it("answers 404 for unknown paths and 405 for other methods", async () => {
    const server = await start();
    expect(await call(server, "/nope")).toMatchObject({ status: 404, json: { error: "not found" } });
    expect(await call(server, "/status", "POST")).toMatchObject({
      status: 405,
      json: { error: "method not allowed" },
    });
  });

  it("logs a failing status or readiness and answers the failure response", async () => {
    const warnings: Warning[] = [];
    const logger = recordingLogger(warnings);
    const fallback = await start({
      logger,
      status: () => {
        throw new Error("broken");
      },
    });
    expect(await call(fallback, "/status")).toMatchObject({ status: 500, json: { error: "internal error" } });
    const custom = await start({
      logger,
      readiness: () => Promise.reject(new Error("redis down")),
      failure: { code: 503, body: { error: "unavailable" } },
    });
    expect(await call(custom, "/readyz")).toMatchObject({ status: 503, json: { error: "unavailable" } });
    expect(warnings).toEqual([
      { obj: { err: { name: "Error", message: "broken" } }, msg: "status request failed" },
      { obj: { err: { name: "Error", message: "redis down" } }, msg: "status request failed" },
    ]);
  });

  it("closes idempotently and rejects a port in use", async () => {
    const server = await start();
    await expect(start({ port: server.port })).rejects.toThrow(/EADDRINUSE/);
    const first = server.close();
    expect(server.close()).toBe(first);
    await first;
    await expect(fetch(`http://127.0.0.1:${server.port}/healthz`)).rejects.toThrow();
  });
});
