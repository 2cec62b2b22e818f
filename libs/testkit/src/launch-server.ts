import { describeError, ServerStartError } from "./errors.ts";
import { freePort, isPortFree } from "./free-port.ts";
import type { TestkitLogger } from "./logger.ts";
import { ManagedServer, type ServerBackend, type ServerHandle, type ServerKind } from "./server-handle.ts";

/** Start attempts when an automatically chosen port is taken between choosing and binding it. */
export const PORT_RACE_ATTEMPTS = 3;

export interface LaunchPlan {
  readonly kind: ServerKind;
  /** Fixed port chosen by the caller; when undefined a free port is picked (and re-picked on a race). */
  readonly port: number | undefined;
  readonly readyTimeoutMs: number;
  readonly logger: TestkitLogger;
  /** Builds the backend for one attempt on `port`; a failed attempt is disposed (which cleans it up). */
  readonly createBackend: (port: number) => Promise<ServerBackend>;
  readonly probe: (backend: ServerBackend) => () => Promise<true>;
}

/**
 * Creates a server on a port and waits until it answers. When the port was chosen automatically and the
 * start failed because something else now holds that port (checked by binding it, not by reading the
 * server's message), it retries on a new port, up to {@link PORT_RACE_ATTEMPTS} times.
 */
export async function launchServer(plan: LaunchPlan): Promise<ServerHandle> {
  for (let attempt = 1; ; attempt++) {
    const port = plan.port ?? (await freePort());
    const backend = await plan.createBackend(port);
    const server = new ManagedServer({
      kind: plan.kind,
      backend,
      probe: plan.probe(backend),
      readyTimeoutMs: plan.readyTimeoutMs,
      logger: plan.logger,
    });
    try {
      await server.start();
      return server;
    } catch (err) {
      await server
        .dispose()
        .catch((disposeErr: unknown) =>
          plan.logger.warn({ err: describeError(disposeErr) }, "cleanup after failed start failed"),
        );
      const raced =
        plan.port === undefined &&
        attempt < PORT_RACE_ATTEMPTS &&
        err instanceof ServerStartError &&
        !(await isPortFree(port).catch(() => true));
      if (!raced) {
        throw err;
      }
      plan.logger.warn({ kind: plan.kind, port, attempt }, "port taken before the server bound it; retrying");
    }
  }
}
