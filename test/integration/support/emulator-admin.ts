// Typed helpers for the CCS emulator's admin HTTP API (services/ccs-emulator/README.md, docs/CONTRACT.md).
import type {
  DeviceDetail,
  DeviceView,
  FaultConfig,
  FaultView,
  LedgerSummary,
  StatsView,
} from "@ccs/ccs-emulator";
import { waitFor } from "@ccs/testkit";

export type { DeviceDetail, DeviceView, FaultConfig, FaultView, LedgerSummary, StatsView };

export type DrainTarget = { connectionId: string } | { senderId: string } | { all: true };

export interface UpstreamInput {
  readonly from: string;
  readonly senderId?: string;
  readonly category?: string;
  readonly data?: Record<string, string>;
  readonly messageId?: string;
  readonly timeToLive?: number;
}

export class EmulatorAdminError extends Error {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly body: string;

  constructor(method: string, path: string, status: number, body: string) {
    super(`emulator admin ${method} ${path} answered ${status}: ${body.slice(0, 300)}`);
    this.name = "EmulatorAdminError";
    this.method = method;
    this.path = path;
    this.status = status;
    this.body = body;
  }
}

export class EmulatorAdmin {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/$/, "");
  }

  async #call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (!res.ok) throw new EmulatorAdminError(method, path, res.status, text);
    return (text === "" ? undefined : JSON.parse(text)) as T;
  }

  health(): Promise<{ status: string }> {
    return this.#call("GET", "/health");
  }

  stats(): Promise<StatsView> {
    return this.#call("GET", "/stats");
  }

  /** With `messageIds`, the answer carries arrivals per `senderId:messageId` (over all devices). */
  ledger(options: { messageIds?: boolean } = {}): Promise<LedgerSummary> {
    return this.#call("GET", options.messageIds === true ? "/ledger?messageIds=1" : "/ledger");
  }

  devices(): Promise<DeviceView[]> {
    return this.#call("GET", "/devices");
  }

  device(token: string): Promise<DeviceDetail> {
    return this.#call("GET", `/devices/${encodeURIComponent(token)}`);
  }

  addDevice(device: { token: string; online?: boolean; category?: string }): Promise<DeviceView> {
    return this.#call("POST", "/devices", device);
  }

  drain(target: DrainTarget): Promise<{ drained: string[] }> {
    return this.#call("POST", "/drain", target);
  }

  sendUpstream(message: UpstreamInput): Promise<{ messageId: string }> {
    return this.#call("POST", "/upstream", message);
  }

  setFaults(faults: FaultConfig): Promise<FaultView> {
    return this.#call("PUT", "/faults", faults);
  }

  faults(): Promise<FaultView> {
    return this.#call("GET", "/faults");
  }

  resetConnection(connectionId: string): Promise<unknown> {
    return this.#call("POST", `/connections/${encodeURIComponent(connectionId)}/reset`);
  }

  setConfig(patch: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.#call("PUT", "/config", patch);
  }

  /** Connections of `senderId` that are logged in and not draining/closed. */
  async liveConnections(senderId: string): Promise<StatsView["connections"]> {
    const stats = await this.stats();
    return stats.connections.filter((c) => c.senderId === senderId && c.state === "online");
  }

  /** Waits until `accept(live connections of senderId)` holds. */
  async waitLive(
    senderId: string,
    accept: (live: StatsView["connections"]) => boolean,
    timeoutMs: number,
    description: string,
  ): Promise<StatsView["connections"]> {
    return waitFor(
      async () => {
        const live = await this.liveConnections(senderId);
        return accept(live) ? live : undefined;
      },
      { timeoutMs, intervalMs: 100, description },
    );
  }
}
