#!/usr/bin/env node
/**
 * ccs-emulator: the standalone composition root. Parses flags and environment, starts the emulator,
 * prints one JSON ready line on stdout, logs JSON lines on stderr, and stops cleanly on SIGINT/SIGTERM.
 */
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseCliArgs, usage } from "./cli-args.ts";
import type { EmulatorOptions } from "./config.ts";
import { startEmulator } from "./emulator.ts";
import { InvalidOptionError } from "./errors.ts";
import { jsonLineLogger, SILENT_LOGGER } from "./logger.ts";

/** Exit code for bad flags or environment. */
const EXIT_USAGE = 2;
/** Exit code when the emulator could not start (port taken, unreadable files...). */
const EXIT_START_FAILED = 1;

async function main(): Promise<number> {
  let request: ReturnType<typeof parseCliArgs>;
  try {
    request = parseCliArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (!(err instanceof InvalidOptionError)) throw err;
    process.stderr.write(`ccs-emulator: ${err.message}\n\n${usage()}`);
    return EXIT_USAGE;
  }
  if (request.help) {
    process.stdout.write(usage());
    return 0;
  }
  const logger =
    request.logLevel === "silent"
      ? SILENT_LOGGER
      : jsonLineLogger((line) => process.stderr.write(line), request.logLevel === "debug");

  const options: EmulatorOptions = { ...request.options, logger };
  if (request.tlsCertFile !== null && request.tlsKeyFile !== null) {
    try {
      options.tls = {
        certPem: await readFile(request.tlsCertFile, "utf8"),
        keyPem: await readFile(request.tlsKeyFile, "utf8"),
      };
    } catch (err) {
      process.stderr.write(`ccs-emulator: cannot read --tls-cert/--tls-key: ${(err as Error).message}\n`);
      return EXIT_USAGE;
    }
  } else if (options.certOut === undefined) {
    options.certOut = join(tmpdir(), `ccs-emulator-${process.pid}-cert.pem`);
  }

  let emulator: Awaited<ReturnType<typeof startEmulator>>;
  try {
    emulator = await startEmulator(options);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`ccs-emulator: failed to start: ${message}\n`);
    return err instanceof InvalidOptionError ? EXIT_USAGE : EXIT_START_FAILED;
  }
  const certPath = emulator.certPath ?? request.tlsCertFile ?? null;
  process.stdout.write(
    `${JSON.stringify({
      event: "ready",
      host: emulator.host,
      port: emulator.port,
      adminPort: emulator.adminPort,
      adminUrl: emulator.adminUrl,
      certPath,
      senders: emulator.control.senders().map((s) => s.senderId),
      seed: emulator.seed,
    })}\n`,
  );

  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "stopping");
      emulator.stop().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error({ err: String(err) }, "stop failed");
          resolve(EXIT_START_FAILED);
        },
      );
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });
}

/** After stopping, the process must end by itself; this is the deadline before it is forced to. */
const EXIT_FORCE_MS = 5000;

main().then(
  (code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), EXIT_FORCE_MS).unref();
  },
  (err: unknown) => {
    process.stderr.write(
      `ccs-emulator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = EXIT_START_FAILED;
  },
);
