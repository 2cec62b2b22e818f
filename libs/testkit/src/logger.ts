/** The small logger interface the test kit reports lifecycle changes to (pino's Logger satisfies it). */
export interface TestkitLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Default: discard everything. */
export const SILENT_LOGGER: TestkitLogger = {
  debug: () => undefined,
  warn: () => undefined,
};
