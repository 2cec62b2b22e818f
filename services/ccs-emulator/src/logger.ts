import type { Logger } from "@ccs/telemetry";

/** The logging the emulator depends on: @ccs/telemetry's Logger without child() (pino-compatible). Default: silent. */
export type EmulatorLogger = Pick<Logger, "info" | "warn" | "error" | "debug">;

// Not @ccs/telemetry's silentLogger: that is a runtime import, and @ccs/telemetry's entry point loads pino and
// the OpenTelemetry SDK, which the emulator (a standalone CLI and test fixture) does not otherwise need.
export const SILENT_LOGGER: EmulatorLogger = {
  info: () => {},
  warn: () => {},
  error: () => {},
  debug: () => {},
};

/** Logger writing one JSON object per line to a stream (used by the CLI, on stderr). */
export function jsonLineLogger(write: (line: string) => void, debug = false): EmulatorLogger {
  const emit = (level: string) => (obj: object, msg?: string) => {
    write(`${JSON.stringify({ level, time: Date.now(), ...obj, ...(msg === undefined ? {} : { msg }) })}\n`);
  };
  return {
    info: emit("info"),
    warn: emit("warn"),
    error: emit("error"),
    debug: debug ? emit("debug") : () => {},
  };
}
