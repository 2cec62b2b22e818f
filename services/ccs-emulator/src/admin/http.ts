import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type EmulatorControl, UpstreamQueueFullError } from "../control.ts";
import { InvalidOptionError, NotFoundError } from "../errors.ts";
import type { EmulatorLogger } from "../logger.ts";
import { adminRoutes, matchRoute, type Route } from "./routes.ts";

/** Largest admin request body. */
export const MAX_ADMIN_BODY_BYTES = 1024 * 1024;

class BadBodyError extends InvalidOptionError {}

/** The admin HTTP API (JSON in/out). Errors: 400 bad_request, 404 not_found, 405, 413, 503 queue_full. */
export class AdminServer {
  readonly #server: Server;
  readonly #routes: Route[];
  readonly #logger: EmulatorLogger;
  #closing: Promise<void> | null = null;

  constructor(control: EmulatorControl, logger: EmulatorLogger) {
    this.#routes = adminRoutes(control);
    this.#logger = logger;
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        this.#logger.error({ err: String(err) }, "admin request failed");
        if (!res.headersSent) send(res, 500, { error: "internal_error" });
        else res.destroy();
      });
    });
    this.#server.keepAliveTimeout = 5000;
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.#server.once("error", onError);
      this.#server.listen({ host, port, exclusive: true }, () => {
        this.#server.removeListener("error", onError);
        const address = this.#server.address();
        if (address === null || typeof address === "string")
          reject(new Error("admin server has no TCP address"));
        else resolve(address.port);
      });
    });
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://admin");
    let segments: string[];
    try {
      segments = url.pathname
        .split("/")
        .filter((s) => s !== "")
        .map((s) => decodeURIComponent(s));
    } catch {
      send(res, 400, { error: "bad_request", message: "malformed path" });
      return;
    }
    const match = matchRoute(this.#routes, req.method ?? "GET", segments);
    if (match === null) {
      await drainBody(req);
      send(res, 404, { error: "not_found" });
      return;
    }
    if ("methodNotAllowed" in match) {
      await drainBody(req);
      send(res, 405, { error: "method_not_allowed" });
      return;
    }
    try {
      const body = await readJsonBody(req);
      const result = match.route.handle({ params: match.params, body, query: url.searchParams });
      send(res, 200, result ?? null);
    } catch (err) {
      if (err instanceof NotFoundError) send(res, 404, { error: "not_found", message: err.message });
      else if (err instanceof UpstreamQueueFullError)
        send(res, 503, { error: "queue_full", message: err.message });
      else if (err instanceof BadBodyError && err.message.startsWith("request body exceeds")) {
        send(res, 413, { error: "too_large", message: err.message });
      } else if (err instanceof InvalidOptionError)
        send(res, 400, { error: "bad_request", message: err.message });
      else throw err;
    }
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
  });
  res.end(text);
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ADMIN_BODY_BYTES)
      throw new BadBodyError(`request body exceeds ${MAX_ADMIN_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new BadBodyError("request body is not valid JSON");
  }
}

async function drainBody(req: IncomingMessage): Promise<void> {
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_ADMIN_BODY_BYTES) return;
  }
}
