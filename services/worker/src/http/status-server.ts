/**
 * The worker's HTTP endpoints on node:http: GET /healthz (the process answers), GET /readyz (NATS
 * connected and, in coordinated mode, registered), GET /status (JSON; never an API key).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { errorFields, type Logger } from "../pipeline/logger.ts";

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, boolean>>;
}

export interface StatusServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly status: () => unknown;
  readonly readiness: () => Readiness;
  readonly logger: Logger;
}

export interface StatusServer {
  readonly port: number;
  /** Idempotent. */
  close(): Promise<void>;
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(JSON.stringify(body, null, 2));
}

function handle(o: StatusServerOptions, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== "GET" && req.method !== "HEAD") {
    send(res, 405, { error: "method not allowed" });
    return;
  }
  switch (new URL(req.url ?? "/", "http://localhost").pathname) {
    case "/healthz":
      send(res, 200, { status: "ok" });
      return;
    case "/readyz": {
      const r = o.readiness();
      send(res, r.ready ? 200 : 503, { status: r.ready ? "ready" : "not ready", checks: r.checks });
      return;
    }
    case "/status":
      send(res, 200, o.status());
      return;
    default:
      send(res, 404, { error: "not found" });
  }
}

export async function startStatusServer(o: StatusServerOptions): Promise<StatusServer> {
  const server: Server = createServer((req, res) => {
    try {
      handle(o, req, res);
    } catch (err) {
      o.logger.warn(errorFields(err), "status request failed");
      if (!res.headersSent) send(res, 500, { error: "internal error" });
      else res.end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
