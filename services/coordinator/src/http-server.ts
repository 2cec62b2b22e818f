// GET /status (JSON), /healthz (the process answers) and /readyz (dependencies usable), on node:http.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "@ccs/cluster";

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, boolean>>;
}

export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  readonly status: () => Promise<unknown>;
  readonly readiness: () => Promise<Readiness>;
  readonly logger: Logger;
}

export interface StatusHttpServer {
  readonly port: number;
  /** Idempotent. */
  close(): Promise<void>;
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(code, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
  res.end(text);
}

export async function startHttpServer(o: HttpServerOptions): Promise<StatusHttpServer> {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, { error: "method not allowed" });
      return;
    }
    switch (path) {
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
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      o.logger.warn({ err: error instanceof Error ? error.message : String(error) }, "status request failed");
      if (!res.headersSent) send(res, 503, { error: "unavailable" });
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
