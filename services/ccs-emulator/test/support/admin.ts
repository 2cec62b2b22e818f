/**
 * Admin HTTP API client for the conformance suite, typed from docs/CONTRACT.md (not from src/).
 */

export interface Counters {
  readonly connectionsOpened: number;
  readonly authFailures: number;
  readonly connectionLimitRefusals: number;
  readonly downstreamReceived: number;
  readonly acked: number;
  readonly nacked: Readonly<Record<string, number>>;
  readonly stanzaErrors: number;
  readonly pendingViolations: number;
  readonly unanswered: number;
  readonly upstreamSent: number;
  readonly upstreamDelivered: number;
  readonly upstreamRedeliveries: number;
  readonly upstreamAcked: number;
  readonly upstreamMisroutedAcks: number;
  readonly receiptsSent: number;
  readonly drainsSent: number;
  readonly resets: number;
  readonly duplicateDeliveries: number;
  readonly deliveredToDevices: number;
}

export type ConnectionState = "connecting" | "authenticated" | "online" | "draining" | "closed";
export type ConnectionId = string | number;

export interface ConnectionStats {
  readonly id: ConnectionId;
  readonly senderId: string | null | undefined;
  readonly resource: string | null | undefined;
  readonly state: ConnectionState;
  readonly pending: number;
  readonly unackedUpstream: number;
  readonly openedAt: unknown;
  readonly remoteAddress: string;
  readonly pendingViolations?: number;
}

export interface Stats {
  readonly connections: readonly ConnectionStats[];
  readonly counters: Counters;
  readonly bySender: Readonly<Record<string, Counters & { connections: number; pending: number }>>;
}

export interface Device {
  readonly token: string;
  readonly senderId?: string;
  readonly registered: boolean;
  readonly online: boolean;
  readonly idle: boolean;
  readonly canonicalToken?: string;
  readonly held: number;
}

export interface LedgerEntry {
  readonly messageId: string;
  readonly senderId: string;
  readonly count: number;
  readonly firstAt: unknown;
  readonly lastAt: unknown;
  readonly collapseKey?: string;
}

export interface DeviceWithLedger extends Device {
  readonly ledger: readonly LedgerEntry[];
}

export interface Ledger {
  readonly devices: number;
  readonly messages: number;
  readonly deliveries: number;
  readonly duplicates: number;
  readonly messageIds?: Readonly<Record<string, number>>;
}

export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
  readonly body: unknown;
  readonly contentType: string | null;
}

/** Thrown by the typed helpers when the admin API does not answer 2xx. */
export class AdminHttpError extends Error {
  readonly answer: HttpAnswer;
  constructor(method: string, path: string, answer: HttpAnswer) {
    super(`${method} ${path} -> ${answer.status}: ${answer.text.slice(0, 500)}`);
    this.name = "AdminHttpError";
    this.answer = answer;
  }
}

export class AdminClient {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/$/, "");
  }

  /** Any request; `body` is sent as JSON, `rawBody` verbatim (for malformed-body tests). */
  async request(
    method: string,
    path: string,
    options: { body?: unknown; rawBody?: string } = {},
  ): Promise<HttpAnswer> {
    const init: RequestInit = { method, signal: AbortSignal.timeout(5_000) };
    if (options.rawBody !== undefined) {
      init.body = options.rawBody;
      init.headers = { "content-type": "application/json" };
    } else if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = { "content-type": "application/json" };
    }
    const res = await fetch(`${this.baseUrl}${path}`, init);
    const text = await res.text();
    let body: unknown;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: res.status, text, body, contentType: res.headers.get("content-type") };
  }

  /** Request that must succeed (2xx); returns the parsed JSON body. */
  async ok<T>(method: string, path: string, body?: unknown): Promise<T> {
    const answer = await this.request(method, path, body === undefined ? {} : { body });
    if (answer.status < 200 || answer.status >= 300) throw new AdminHttpError(method, path, answer);
    return answer.body as T;
  }

  stats(): Promise<Stats> {
    return this.ok<Stats>("GET", "/stats");
  }

  async connection(predicate: (c: ConnectionStats) => boolean): Promise<ConnectionStats | undefined> {
    return (await this.stats()).connections.find(predicate);
  }

  /** The connection bound with `resource` (test clients bind unique resources). */
  async connectionByResource(resource: string): Promise<ConnectionStats> {
    const found = await this.connection((c) => c.resource === resource);
    if (found === undefined) throw new Error(`no connection with resource ${resource} in /stats`);
    return found;
  }

  device(token: string): Promise<DeviceWithLedger> {
    return this.ok<DeviceWithLedger>("GET", `/devices/${encodeURIComponent(token)}`);
  }

  addDevice(device: {
    token: string;
    registered?: boolean;
    online?: boolean;
    idle?: boolean;
  }): Promise<Device> {
    return this.ok<Device>("POST", "/devices", device);
  }

  deviceAction(
    token: string,
    action: "unregister" | "register" | "offline" | "online" | "idle" | "active" | "rotate",
    body?: unknown,
  ): Promise<Device> {
    return this.ok<Device>("POST", `/devices/${encodeURIComponent(token)}/${action}`, body ?? {});
  }

  ledger(withIds = false): Promise<Ledger> {
    return this.ok<Ledger>("GET", withIds ? "/ledger?messageIds=1" : "/ledger");
  }

  upstream(u: {
    senderId?: string;
    from: string;
    category: string;
    data: Record<string, unknown>;
    messageId?: string;
    timeToLive?: number;
  }): Promise<{ messageId: string }> {
    return this.ok<{ messageId: string }>("POST", "/upstream", u);
  }

  drain(target: { connectionId: ConnectionId } | { senderId: string } | { all: true }): Promise<{
    drained: ConnectionId[];
  }> {
    return this.ok("POST", "/drain", target);
  }

  setFaults(faults: Record<string, unknown>): Promise<unknown> {
    return this.ok("PUT", "/faults", faults);
  }

  setConfig(config: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.ok("PUT", "/config", config);
  }

  reset(): Promise<unknown> {
    return this.ok("POST", "/reset", {});
  }
}
