/** The small logging interface the emulator depends on (pino-compatible). Default: silent. */
export interface EmulatorLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

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
