/** Default number of output lines kept per child process. */
export const DEFAULT_MAX_LINES = 200;

/** Bounded ring of the most recent lines; older lines are dropped. */
export class LineBuffer {
  readonly #max: number;
  readonly #lines: string[] = [];
  #dropped = 0;

  constructor(max: number = DEFAULT_MAX_LINES) {
    this.#max = Math.max(1, Math.floor(max));
  }

  push(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#max) {
      this.#lines.shift();
      this.#dropped += 1;
    }
  }

  /** Copy of the retained lines, oldest first. */
  snapshot(): string[] {
    return [...this.#lines];
  }

  /** How many lines were dropped because the buffer was full. */
  get dropped(): number {
    return this.#dropped;
  }
}

/** Splits a chunked text stream into lines; the trailing partial line is flushed on `end()`. */
export class LineSplitter {
  readonly #onLine: (line: string) => void;
  #partial = "";

  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  write(chunk: string): void {
    const parts = (this.#partial + chunk).split(/\r?\n/);
    this.#partial = parts.pop() ?? "";
    for (const part of parts) {
      this.#onLine(part);
    }
  }

  end(): void {
    if (this.#partial.length > 0) {
      const rest = this.#partial;
      this.#partial = "";
      this.#onLine(rest);
    }
  }
}
