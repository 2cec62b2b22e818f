import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { AdminServer } from "./admin/http.ts";
import { type EmulatorOptions, resolveConfig } from "./config.ts";
import { Connection } from "./connection/connection.ts";
import { createControl, type EmulatorControl } from "./control.ts";
import { EmulatorCore } from "./core.ts";
import { IllegalStateError } from "./errors.ts";
import { TlsListener } from "./listener.ts";
import { RandomFaultTicker } from "./random-faults.ts";
import { type CertificatePair, generateSelfSignedCertificate, writeCertificate } from "./tls.ts";
import { UpstreamGenerator } from "./upstream/generator.ts";

/** Longest `stop()` waits for listeners to close before giving up on them. */
export const STOP_FORCE_TIMEOUT_MS = 5000;

export interface RunningEmulator {
  readonly host: string;
  readonly port: number;
  readonly adminPort: number;
  /** `http://host:adminPort`. */
  readonly adminUrl: string;
  /** The certificate clients must trust. */
  readonly caPem: string;
  /** Set when the certificate was written (certOut). */
  readonly certPath?: string;
  /** The seed in use (given or drawn). */
  readonly seed: number;
  readonly control: EmulatorControl;
  /** Idempotent: closes every connection and both listeners. */
  stop(): Promise<void>;
}

/** Lifecycle of a running emulator. */
export type EmulatorState = "starting" | "running" | "stopping" | "stopped";

/** Starts the XMPP (TLS) listener and the admin API; resolves once both listen. */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const config = resolveConfig(options);
  const logger = config.logger;
  const cert: CertificatePair = config.tls ?? (await generateSelfSignedCertificate());
  if (config.certOut !== null) await writeCertificate(config.certOut, cert.certPem);

  const core = new EmulatorCore(config);
  const control = createControl(
    core,
    new UpstreamGenerator(
      (m) => {
        try {
          control.sendUpstream({
            ...(m.senderId === undefined ? {} : { senderId: m.senderId }),
            from: m.from,
            category: m.category,
            data: m.data,
          });
        } catch (err) {
          logger.debug({ err: String(err) }, "generated upstream message refused");
        }
      },
      core.random,
      core.clock,
    ),
  );
  const ticker = new RandomFaultTicker(core);
  let nextId = 0;
  const listener = new TlsListener(
    cert,
    (tls: TLSSocket, raw: Socket) => {
      nextId++;
      const conn = new Connection({
        id: `c${nextId}`,
        tls,
        raw,
        hub: core,
        maxStanzaBytes: config.maxStanzaBytes,
        keepaliveIntervalMs: config.keepaliveIntervalMs,
        maxOutboundBytes: config.maxOutboundBytes,
      });
      core.registerConnection(conn);
      raw.once("close", () => conn.disposed());
      logger.debug({ connectionId: conn.id, remote: conn.remoteAddress }, "TLS connection");
    },
    (err) => logger.error({ err: err.message }, "XMPP listener error"),
  );
  const admin = new AdminServer(control, logger);

  let state: EmulatorState = "starting";
  const setState = (next: EmulatorState): void => {
    logger.debug({ from: state, to: next }, "emulator state");
    state = next;
  };

  let port: number;
  let adminPort: number;
  try {
    port = await listener.listen(config.host, config.port);
    adminPort = await admin.listen(config.adminHost, config.adminPort);
  } catch (err) {
    await Promise.allSettled([listener.close(), admin.close()]);
    throw err;
  }
  ticker.start();
  if (config.upstreamGenerator !== null) control.setUpstreamGenerator(config.upstreamGenerator);
  setState("running");

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (state !== "running") throw new IllegalStateError(`stop() in state ${state}`);
      setState("stopping");
      const cleanups: (() => unknown)[] = [
        () => ticker.stop(),
        () => control.setUpstreamGenerator(null),
        () => {
          for (const conn of [...core.connections.values()]) conn.close("destroy");
        },
        () => withDeadline(Promise.all([listener.close(), admin.close()]), STOP_FORCE_TIMEOUT_MS),
      ];
      for (const cleanup of cleanups) {
        try {
          await cleanup();
        } catch (err) {
          logger.warn({ err: String(err) }, "cleanup step failed during stop");
        }
      }
      setState("stopped");
      logger.info({}, "stopped");
    })();
    return stopping;
  };

  const adminHostForUrl = config.adminHost.includes(":") ? `[${config.adminHost}]` : config.adminHost;
  logger.info({ host: config.host, port, adminPort, seed: config.seed }, "ready");
  const running: RunningEmulator = {
    host: config.host,
    port,
    adminPort,
    adminUrl: `http://${adminHostForUrl}:${adminPort}`,
    caPem: cert.certPem,
    ...(config.certOut === null ? {} : { certPath: config.certOut }),
    seed: config.seed,
    control,
    stop,
  };
  return running;
}

async function withDeadline(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  if (timer !== undefined) clearTimeout(timer);
}
