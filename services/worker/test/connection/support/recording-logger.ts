import type { Logger } from "@ccs/telemetry";

export interface LogRecord {
  readonly level: "debug" | "info" | "warn" | "error";
  readonly obj: object;
  readonly msg: string | undefined;
}

/** A Logger that keeps every record (children share the parent's list). */
export function recordingLogger(
  records: LogRecord[] = [],
  bindings: object = {},
): Logger & { records: LogRecord[] } {
  const at =
    (level: LogRecord["level"]) =>
    (obj: object, msg?: string): void => {
      records.push({ level, obj: { ...bindings, ...obj }, msg });
    };
  return {
    records,
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (more) => recordingLogger(records, { ...bindings, ...more }),
  };
}
