// The HTTP endpoints every service exposes, on node:http: GET /healthz (the process answers), GET /readyz
// (dependencies usable: 200, else 503, with the individual checks) and GET /status (JSON). Other paths
// answer 404, other methods 405 (HEAD is answered like GET).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { errorFields, type Logger } from "@ccs/telemetry";

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, boolean>>;
}

export interface StatusServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** The /status body (or a promise of it). Must never contain an API key. */
  readonly status: () => unknown;
  readonly readiness: () => Readiness | Promise<Readiness>;
  readonly logger: Logger;
  /** The answer when status() or readiness() fails. Default: 500 `{ error: "internal error" }`. */
  readonly failure?: { readonly code: number; readonly body: unknown };
}

export interface StatusServer {
  readonly port: number;
  /** Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_FAILURE = { code: 500, body: { error: "internal error" } } as const;

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(code, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(text);
}

async function handle(o: StatusServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    send(res, 405, { error: "method not allowed" });
    return;
  }
  switch (new URL(req.url ?? "/", "http://localhost").pathname) {
    case "/healthz":
      send(res, 200, { status: "ok" });
      return;
    case "/readyz": {
      const r = await o.readiness();
      send(res, r.ready ? 200 : 503, { status: r.ready ? "ready" : "not ready", checks: r.checks });
      return;
    }
    case "/status":
      send(res, 200, await o.status());
      return;
    default:
      send(res, 404, { error: "not found" });
  }
}

/** Listens on `host:port` (resolves once listening; rejects if the port cannot be bound). */
export async function startStatusServer(o: StatusServerOptions): Promise<StatusServer> {
  const failure = o.failure ?? DEFAULT_FAILURE;
  const server: Server = createServer((req, res) => {
    handle(o, req, res).catch((error: unknown) => {
      o.logger.warn(errorFields(error), "status request failed");
      if (!res.headersSent) send(res, failure.code, failure.body);
      else res.end();
    });
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
