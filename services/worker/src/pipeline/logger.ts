/**
 * The small logger interface the pipeline depends on (pino satisfies it; same shape as the
 * connection layer's). TODO(telemetry): switch to @ccs/telemetry's Logger once it exports one.
 */
export type LogFn = (obj: object, msg?: string) => void;

export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};

/** Error fields safe to log: name, code, message (never the objects errors may carry). */
export function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { err: { name: err.name, message: err.message, ...(code === undefined ? {} : { code }) } };
  }
  return { err: { message: String(err) } };
}
