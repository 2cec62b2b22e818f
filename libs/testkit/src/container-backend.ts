import type { Readable } from "node:stream";
import {
  type ContainerRuntimeClient,
  GenericContainer,
  getContainerRuntimeClient,
  type StartedTestContainer,
  Wait,
} from "testcontainers";
import { IllegalStateError } from "./errors.ts";
import { DEFAULT_MAX_LINES, LineBuffer, LineSplitter } from "./line-buffer.ts";
import type { ServerBackend } from "./server-handle.ts";
import { waitFor } from "./wait-for.ts";

/** Time a container gets to stop gracefully before the engine kills it. */
export const DEFAULT_CONTAINER_STOP_TIMEOUT_MS = 10_000;
/** Time allowed for pulling and starting a container the first time. */
export const DEFAULT_CONTAINER_STARTUP_TIMEOUT_MS = 120_000;

type DockerContainer = ReturnType<ContainerRuntimeClient["container"]["getById"]>;

export interface ContainerBackendOptions {
  readonly image: string;
  readonly containerPort: number;
  /** Fixed host port, so the URL survives stop/start. */
  readonly hostPort: number;
  readonly command: readonly string[];
  /** Log line that marks the server as started (the readiness probe runs afterwards). */
  readonly readyLog: RegExp;
  readonly maxLines?: number;
}

/**
 * Runs a server in a container created by testcontainers with a fixed host-port binding. The first
 * `launch()` creates and starts it; later launches restart the same container (same port, same
 * filesystem, so the JetStream store survives). Ryuk removes it if the test process dies.
 */
export class ContainerBackend implements ServerBackend {
  readonly mode = "container" as const;
  readonly host: string;
  readonly port: number;
  readonly #options: ContainerBackendOptions;
  readonly #client: ContainerRuntimeClient;
  readonly #lines: LineBuffer;
  #started: StartedTestContainer | undefined;

  private constructor(client: ContainerRuntimeClient, options: ContainerBackendOptions) {
    this.#client = client;
    this.#options = options;
    this.host = client.info.containerRuntime.host;
    this.port = options.hostPort;
    this.#lines = new LineBuffer(options.maxLines ?? DEFAULT_MAX_LINES);
  }

  static async create(options: ContainerBackendOptions): Promise<ContainerBackend> {
    return new ContainerBackend(await getContainerRuntimeClient(), options);
  }

  readonly pid: number | undefined = undefined;
  readonly dataDir: string | undefined = undefined;

  async launch(): Promise<void> {
    if (this.#started === undefined) {
      this.#started = await new GenericContainer(this.#options.image)
        .withExposedPorts({ container: this.#options.containerPort, host: this.#options.hostPort })
        .withCommand([...this.#options.command])
        .withWaitStrategy(Wait.forLogMessage(this.#options.readyLog))
        .withStartupTimeout(DEFAULT_CONTAINER_STARTUP_TIMEOUT_MS)
        .withLogConsumer((stream) => this.#consume(stream))
        .start();
      return;
    }
    await this.#client.container.start(this.#container());
    void this.#client.container
      .logs(this.#container(), { since: Math.floor(Date.now() / 1000) })
      .then((stream) => this.#consume(stream))
      .catch((err: unknown) => this.#lines.push(`[testkit] could not follow container logs: ${String(err)}`));
  }

  exitedRun(): Promise<void> | undefined {
    return undefined;
  }

  async terminate(): Promise<void> {
    await this.#unpauseIfPaused();
    await this.#client.container.stop(this.#container(), { timeout: DEFAULT_CONTAINER_STOP_TIMEOUT_MS });
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    const container = this.#container();
    if (!(await this.#isRunning(container))) {
      return;
    }
    await this.#unpauseIfPaused();
    await container.kill({ signal });
    await waitFor(async () => !(await this.#isRunning(container)), {
      timeoutMs: DEFAULT_CONTAINER_STOP_TIMEOUT_MS,
      description: `container ${container.id} to exit after ${signal}`,
    });
  }

  async pause(): Promise<void> {
    await this.#container().pause();
  }

  async resume(): Promise<void> {
    await this.#container().unpause();
  }

  async output(): Promise<readonly string[]> {
    return this.#lines.snapshot();
  }

  async cleanup(): Promise<void> {
    if (this.#started === undefined) {
      return;
    }
    await this.#unpauseIfPaused();
    await this.#started.stop({ remove: true, removeVolumes: true, timeout: 0 });
  }

  #container(): DockerContainer {
    if (this.#started === undefined) {
      throw new IllegalStateError("control container", "not created yet");
    }
    return this.#client.container.getById(this.#started.getId());
  }

  async #isRunning(container: DockerContainer): Promise<boolean> {
    const info = await this.#client.container.inspect(container);
    return info.State.Running;
  }

  async #unpauseIfPaused(): Promise<void> {
    const container = this.#container();
    const info = await this.#client.container.inspect(container);
    if (info.State.Paused) {
      await container.unpause();
    }
  }

  #consume(stream: Readable): void {
    const splitter = new LineSplitter((line) => this.#lines.push(line));
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => splitter.write(chunk));
    stream.once("end", () => splitter.end());
    stream.once("error", (err: Error) =>
      this.#lines.push(`[testkit] container log stream failed: ${err.message}`),
    );
  }
}
