/**
 * Typed errors raised by the test kit. Callers branch on the class (or `code`), never on message text.
 */

/** Base class: every error thrown by `@ccs/testkit` extends it. */
export class TestkitError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option had an invalid value or conflicted with another option. */
export class InvalidOptionError extends TestkitError {
  constructor(message: string) {
    super("INVALID_OPTION", message);
  }
}

/** `waitFor` (or something built on it) did not see its condition before the deadline. */
export class WaitTimeoutError extends TestkitError {
  readonly description: string;
  readonly timeoutMs: number;
  readonly lastError: unknown;

  constructor(description: string, timeoutMs: number, lastError: unknown) {
    const last = lastError === undefined ? "" : `; last error: ${describeError(lastError)}`;
    super("WAIT_TIMEOUT", `timed out after ${timeoutMs} ms waiting for ${description}${last}`, {
      cause: lastError,
    });
    this.description = description;
    this.timeoutMs = timeoutMs;
    this.lastError = lastError;
  }
}

/** A spawned process did not print its ready line in time; it has been killed. */
export class ReadyTimeoutError extends WaitTimeoutError {
  readonly pid: number;
  readonly output: readonly string[];

  constructor(description: string, timeoutMs: number, pid: number, output: readonly string[]) {
    super(description, timeoutMs, undefined);
    this.pid = pid;
    this.output = output;
    const tail =
      output.length > 0 ? `\n--- last ${output.length} output lines ---\n${output.join("\n")}` : "";
    this.message = `${this.message} (pid ${pid}, killed)${tail}`;
  }
}

/** A server binary (nats-server, redis-server) could not be found. */
export class BinaryNotFoundError extends TestkitError {
  readonly binary: string;
  readonly envVar: string;
  readonly searched: readonly string[];

  constructor(binary: string, envVar: string, searched: readonly string[]) {
    super(
      "BINARY_NOT_FOUND",
      `${binary} not found (searched ${searched.join(", ")}). Install it with ` +
        `\`apt-get install nats-server redis-server\`, or set ${envVar} to its path.`,
    );
    this.binary = binary;
    this.envVar = envVar;
    this.searched = searched;
  }
}

/** Container mode was requested but no container runtime (Docker engine) is reachable. */
export class ContainerRuntimeUnavailableError extends TestkitError {
  readonly reason: string;

  constructor(reason: string) {
    super(
      "CONTAINER_RUNTIME_UNAVAILABLE",
      `container mode requested but no container runtime is reachable: ${reason}. ` +
        `Start a Docker engine or use CCS_TEST_INFRA=local.`,
    );
    this.reason = reason;
  }
}

/** The port a local server must bind is already taken by another process. */
export class PortInUseError extends TestkitError {
  readonly host: string;
  readonly port: number;

  constructor(host: string, port: number) {
    super("PORT_IN_USE", `${host}:${port} is already in use`);
    this.host = host;
    this.port = port;
  }
}

/** A server did not become ready; `output` holds the last lines it printed. */
export class ServerStartError extends TestkitError {
  readonly kind: string;
  readonly output: readonly string[];

  constructor(kind: string, detail: string, output: readonly string[], cause?: unknown) {
    const tail =
      output.length > 0 ? `\n--- last ${output.length} output lines ---\n${output.join("\n")}` : "";
    super("SERVER_START_FAILED", `${kind} failed to start: ${detail}${tail}`, { cause });
    this.kind = kind;
    this.output = output;
  }
}

/** A child process could not be spawned at all (e.g. ENOENT, EACCES). */
export class SpawnError extends TestkitError {
  readonly command: string;

  constructor(command: string, cause: unknown) {
    super("SPAWN_FAILED", `could not spawn ${command}: ${describeError(cause)}`, { cause });
    this.command = command;
  }
}

/** A child process exited while something was still waiting on it (e.g. its ready line). */
export class ProcessExitedError extends TestkitError {
  readonly command: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: readonly string[];

  constructor(
    command: string,
    exitCode: number | null,
    signal: NodeJS.Signals | null,
    waitingFor: string,
    output: readonly string[],
  ) {
    const tail =
      output.length > 0 ? `\n--- last ${output.length} output lines ---\n${output.join("\n")}` : "";
    super(
      "PROCESS_EXITED",
      `${command} exited (code ${String(exitCode)}, signal ${String(signal)}) while waiting for ${waitingFor}${tail}`,
    );
    this.command = command;
    this.exitCode = exitCode;
    this.signal = signal;
    this.output = output;
  }
}

/** An operation is not allowed in the current lifecycle state (e.g. start() after dispose()). */
export class IllegalStateError extends TestkitError {
  readonly state: string;
  readonly operation: string;

  constructor(operation: string, state: string) {
    super("ILLEGAL_STATE", `cannot ${operation} while ${state}`);
    this.state = state;
    this.operation = operation;
  }
}

/** Best-effort one-line description of an unknown thrown value. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === "string" && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
