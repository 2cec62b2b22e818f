/** The worker's /status document (never an API key: senders are described by their key's source). */
import { describeSender, type SenderConfig } from "@ccs/cluster";
import type { CoordinatedAssignment, OwnedSlotStatus } from "./assignment/coordinated-assignment.ts";
import type { WorkerConfig, WorkerMode } from "./config/worker-config.ts";
import { Metric, type WorkerMetrics } from "./metrics.ts";
import type { WorkerPipeline } from "./pipeline/worker-pipeline.ts";

const RATE_METRICS = [Metric.Fetched, Metric.Sent, Metric.Acked, Metric.OutcomesPublished] as const;
const RATE_INTERVAL_MS = 5_000;

/** Per-second rates of a few counters over the last interval. */
export class RateSampler {
  readonly #metrics: WorkerMetrics;
  #last = new Map<string, number>();
  #lastAt = performance.now();
  #rates: Record<string, number> = {};
  #timer: NodeJS.Timeout | undefined;

  constructor(metrics: WorkerMetrics) {
    this.#metrics = metrics;
  }

  start(): void {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), RATE_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  rates(): Readonly<Record<string, number>> {
    return this.#rates;
  }

  #sample(): void {
    const now = performance.now();
    const seconds = (now - this.#lastAt) / 1000;
    const next = new Map<string, number>();
    const rates: Record<string, number> = {};
    for (const m of RATE_METRICS) {
      const v = this.#metrics.get(m);
      next.set(m, v);
      const before = this.#last.get(m);
      if (before !== undefined && seconds > 0)
        rates[`${m}_per_s`] = Math.round(((v - before) / seconds) * 10) / 10;
    }
    this.#last = next;
    this.#lastAt = now;
    this.#rates = rates;
  }
}

export interface ConnectionStatus {
  readonly id: string;
  readonly senderId: string;
  readonly slotIndex: number;
  readonly state: string;
  readonly pending: number;
  readonly window: number;
}

export interface WorkerStatus {
  readonly workerId: string;
  readonly mode: WorkerMode;
  readonly pipeline: string;
  readonly natsConnected: boolean;
  readonly registered: boolean | null;
  readonly capacity: number | null;
  readonly senders: ReturnType<typeof describeSender>[];
  readonly slots: OwnedSlotStatus[];
  readonly connections: ConnectionStatus[];
  readonly counters: Record<string, number>;
  readonly rates: Readonly<Record<string, number>>;
}

export function workerStatus(s: {
  readonly config: WorkerConfig;
  readonly senders: readonly SenderConfig[];
  readonly pipeline: WorkerPipeline | undefined;
  readonly assignment: CoordinatedAssignment | undefined;
  readonly metrics: WorkerMetrics;
  readonly rates: Readonly<Record<string, number>>;
  readonly natsConnected: boolean;
}): WorkerStatus {
  const connections: ConnectionStatus[] = [];
  for (const { grant, slot } of s.pipeline?.slots() ?? []) {
    for (const c of slot.connections()) {
      connections.push({
        id: c.id,
        senderId: grant.senderId,
        slotIndex: grant.slotIndex,
        state: c.state,
        pending: c.pending,
        window: c.windowSize,
      });
    }
  }
  return {
    workerId: s.config.workerId,
    mode: s.config.mode,
    pipeline: s.pipeline?.state ?? "created",
    natsConnected: s.natsConnected,
    registered: s.assignment === undefined ? null : s.assignment.registered,
    capacity: s.config.mode === "coordinated" ? s.config.cluster.capacity : null,
    senders: s.senders.map(describeSender),
    slots: s.assignment?.owned() ?? [],
    connections,
    counters: s.metrics.snapshot().counters,
    rates: s.rates,
  };
}
