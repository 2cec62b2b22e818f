// Output of child processes: every line goes to a per-process file (kept for post-mortems) and a
// bounded in-memory list; pino JSON lines can be searched by `msg`.
import { appendFileSync } from "node:fs";

export type LogRecord = Record<string, unknown> & { readonly msg?: string };

export class ProcessLog {
  readonly name: string;
  readonly file: string;
  readonly #lines: string[] = [];
  readonly #max: number;

  constructor(name: string, file: string, maxLines = 20_000) {
    this.name = name;
    this.file = file;
    this.#max = maxLines;
  }

  readonly onLine = (line: string): void => {
    this.#lines.push(line);
    if (this.#lines.length > this.#max) this.#lines.splice(0, this.#lines.length - this.#max);
    try {
      appendFileSync(this.file, `${line}\n`);
    } catch {
      // the log dir may be gone after dispose
    }
  };

  get lines(): readonly string[] {
    return this.#lines;
  }

  /** Parsed JSON lines whose `msg` equals `msg` (all JSON lines when omitted). */
  records(msg?: string): LogRecord[] {
    const out: LogRecord[] = [];
    for (const line of this.#lines) {
      if (!line.startsWith("{")) continue;
      if (msg !== undefined && !line.includes(msg)) continue;
      try {
        const rec = JSON.parse(line) as LogRecord;
        if (msg === undefined || rec.msg === msg) out.push(rec);
      } catch {
        // not JSON
      }
    }
    return out;
  }

  tail(n = 40): string {
    return this.#lines.slice(-n).join("\n");
  }
}

export function parseJsonLine(line: string): LogRecord | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === "object" && v !== null ? (v as LogRecord) : undefined;
  } catch {
    return undefined;
  }
}
