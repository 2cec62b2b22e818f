/**
 * A scriptable fake of the connection layer (CcsConnection / ConnectionSlot), for pipeline tests.
 * A script decides each send's answer; the fake enforces the window (send() throws without room),
 * records every send with its connection, and tracks the maximum concurrent pending per connection.
 */
import { EventEmitter } from "node:events";
import type { DownstreamRequest } from "@ccs/ccs-protocol";
import type {
  CcsConnection,
  ConnectionEvents,
  ConnectionSlot,
  ConnectionState,
  SendResult,
  SlotEvents,
  UpstreamDelivery,
  UpstreamSink,
} from "../../../src/connection/contract.ts";

export interface SendRecord {
  readonly request: DownstreamRequest;
  readonly connectionId: string;
  readonly slotIndex: number;
  readonly at: number;
  /** How many times this message_id was sent before (0 on the first send). */
  readonly previousSends: number;
}

export type Script = (
  request: DownstreamRequest,
  send: SendRecord,
  conn: FakeConnection,
) => SendResult | Promise<SendResult>;

export const ackAll: Script = () => ({ kind: "ack" });

export class FakeCcs {
  script: Script;
  readonly sends: SendRecord[] = [];
  readonly sendsById = new Map<string, SendRecord[]>();
  readonly connections: FakeConnection[] = [];
  readonly slots: FakeSlot[] = [];
  readonly windowSize: number;
  #connSeq = 0;
  /** Every upstream ack() call (connection id + message id). */
  readonly upstreamAcks: Array<{ connectionId: string; messageId: string; at: number }> = [];
  /** Every upstream abandon() call; the connection is closed as the real one does. */
  readonly upstreamAbandoned: Array<{ connectionId: string; messageId: string; reason: string }> = [];
  /** Where the fake connections hand upstream deliveries (the worker's persister, set by the harness). */
  upstreamSink: UpstreamSink = () => undefined;

  constructor(options: { windowSize?: number; script?: Script } = {}) {
    this.windowSize = options.windowSize ?? 100;
    this.script = options.script ?? ackAll;
  }

  /** The SlotFactory to hand to the pipeline. */
  readonly slotFactory = (grant: { senderId: string; slotIndex: number }): ConnectionSlot => {
    const slot = new FakeSlot(this, grant.senderId, grant.slotIndex);
    this.slots.push(slot);
    return slot;
  };

  nextConnectionId(senderId: string, slotIndex: number): string {
    return `fake-${senderId}-${slotIndex}-${++this.#connSeq}`;
  }

  record(rec: SendRecord): void {
    this.sends.push(rec);
    let list = this.sendsById.get(rec.request.message_id);
    if (list === undefined) {
      list = [];
      this.sendsById.set(rec.request.message_id, list);
    }
    list.push(rec);
  }

  maxPendingSeen(): number {
    return Math.max(0, ...this.connections.map((c) => c.maxPending));
  }

  online(): FakeConnection[] {
    return this.connections.filter((c) => c.state === "online");
  }
}

export class FakeConnection implements CcsConnection {
  readonly id: string;
  readonly senderId: string;
  readonly windowSize: number;
  readonly slotIndex: number;
  readonly #ccs: FakeCcs;
  readonly #emitter = new EventEmitter();
  #state: ConnectionState = "connecting";
  readonly #life = new AbortController();
  #pending = new Map<number, (r: SendResult) => void>();
  #seq = 0;
  maxPending = 0;
  sent = 0;

  constructor(ccs: FakeCcs, senderId: string, slotIndex: number) {
    this.#ccs = ccs;
    this.senderId = senderId;
    this.slotIndex = slotIndex;
    this.windowSize = ccs.windowSize;
    this.id = ccs.nextConnectionId(senderId, slotIndex);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get pending(): number {
    return this.#pending.size;
  }

  room(): number {
    return this.#state === "online" ? Math.max(0, this.windowSize - this.#pending.size) : 0;
  }

  setState(next: ConnectionState): void {
    const prev = this.#state;
    if (prev === next) return;
    this.#state = next;
    this.#emitter.emit("state", next, prev);
    if (next === "closed") {
      this.#life.abort();
      for (const resolve of [...this.#pending.values()])
        resolve({ kind: "lost", reason: "connection-closed" });
    }
    if (next === "online") this.#emitter.emit("room", this.room());
  }

  send(request: DownstreamRequest): Promise<SendResult> {
    if (this.room() <= 0)
      throw new Error(`IllegalStateError: send without room on ${this.id} (${this.#state})`);
    const key = ++this.#seq;
    this.sent++;
    const previousSends = this.#ccs.sendsById.get(request.message_id)?.length ?? 0;
    const rec: SendRecord = {
      request,
      connectionId: this.id,
      slotIndex: this.slotIndex,
      at: Date.now(),
      previousSends,
    };
    this.#ccs.record(rec);
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const settle = (r: SendResult): void => {
        if (settled) return;
        settled = true;
        this.#pending.delete(key);
        resolve(r);
        // Like the real layer: room grows after the answer was handed over.
        queueMicrotask(() => {
          if (this.#state === "online") this.#emitter.emit("room", this.room());
        });
      };
      this.#pending.set(key, settle);
      if (this.#pending.size > this.maxPending) this.maxPending = this.#pending.size;
      // Answers arrive asynchronously, as from a socket.
      setImmediate(() => {
        Promise.resolve(this.#ccs.script(request, rec, this)).then(settle, () =>
          settle({ kind: "lost", reason: "answer-timeout" }),
        );
      });
    });
  }

  /** Delivers an upstream message; `acks` collects ack() calls. */
  deliverUpstream(partial: Partial<UpstreamDelivery> & { messageId: string; from: string }): void {
    const ccs = this.#ccs;
    const delivery: UpstreamDelivery = {
      kind: partial.kind ?? "upstream",
      senderId: this.senderId,
      connectionId: this.id,
      from: partial.from,
      messageId: partial.messageId,
      ...(partial.category === undefined ? {} : { category: partial.category }),
      payloadJson:
        partial.payloadJson ??
        JSON.stringify({ from: partial.from, message_id: partial.messageId, data: { a: "1" } }),
      receivedAt: Date.now(),
      signal: this.#life.signal,
      ack: () => {
        if (this.#state === "closed") return false;
        ccs.upstreamAcks.push({ connectionId: this.id, messageId: partial.messageId, at: Date.now() });
        return true;
      },
      abandon: (reason) => {
        ccs.upstreamAbandoned.push({ connectionId: this.id, messageId: partial.messageId, reason });
        this.setState("closed");
      },
    };
    ccs.upstreamSink(delivery);
  }

  on<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this {
    this.#emitter.on(event, listener);
    return this;
  }

  off<E extends keyof ConnectionEvents>(event: E, listener: ConnectionEvents[E]): this {
    this.#emitter.off(event, listener);
    return this;
  }
}

export class FakeSlot implements ConnectionSlot {
  readonly senderId: string;
  readonly slotIndex: number;
  readonly #ccs: FakeCcs;
  readonly #emitter = new EventEmitter();
  #connections: FakeConnection[] = [];
  #closed = false;
  started = false;

  constructor(ccs: FakeCcs, senderId: string, slotIndex: number) {
    this.#ccs = ccs;
    this.senderId = senderId;
    this.slotIndex = slotIndex;
  }

  get current(): FakeConnection | undefined {
    return this.#connections.find((c) => c.state === "online");
  }

  connections(): readonly CcsConnection[] {
    return this.#connections.filter((c) => c.state !== "closed");
  }

  start(): void {
    this.started = true;
    this.#open();
  }

  #open(): FakeConnection {
    const conn = new FakeConnection(this.#ccs, this.senderId, this.slotIndex);
    this.#ccs.connections.push(conn);
    this.#connections.push(conn);
    setImmediate(() => {
      if (this.#closed) return;
      conn.setState("online");
      this.#emitter.emit("connection", conn);
    });
    return conn;
  }

  /** CCS drains the current connection: it stops taking sends; a replacement comes online. */
  drainCurrent(): { old: FakeConnection | undefined; replacement: FakeConnection } {
    const old = this.current;
    if (old !== undefined) {
      old.setState("draining");
      this.#emitter.emit("draining", old);
    }
    return { old, replacement: this.#open() };
  }

  /** The current connection dies: pending sends settle as lost; a replacement comes online. */
  killCurrent(): FakeConnection | undefined {
    const old = this.current;
    old?.setState("closed");
    if (!this.#closed) this.#open();
    return old;
  }

  async close(graceMs: number): Promise<void> {
    this.#closed = true;
    const deadline = Date.now() + graceMs;
    while (this.#connections.some((c) => c.pending > 0) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    for (const c of this.#connections) c.setState("closed");
  }

  on<E extends keyof SlotEvents>(event: E, listener: SlotEvents[E]): this {
    this.#emitter.on(event, listener);
    return this;
  }

  off<E extends keyof SlotEvents>(event: E, listener: SlotEvents[E]): this {
    this.#emitter.off(event, listener);
    return this;
  }
}
