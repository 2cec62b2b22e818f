/**
 * The worker's basic counters and one latency summary, kept in process and logged periodically.
 * TODO(telemetry): export through @ccs/telemetry (OpenTelemetry meters) once it lands.
 */
export const Metric = {
  Fetched: "fetched",
  Sent: "sent",
  Acked: "acked",
  Nacked: "nacked",
  Rejected: "rejected",
  Expired: "expired",
  Retries: "retries",
  Lost: "lost",
  HandedBack: "handed_back",
  OutcomesPublished: "outcomes_published",
  OutcomePublishErrors: "outcome_publish_errors",
  UpstreamPersisted: "upstream_persisted",
  UpstreamAcked: "upstream_acked",
  UpstreamPersistErrors: "upstream_persist_errors",
  UpstreamAckDropped: "upstream_ack_dropped",
  /** The carrying connection closed before the message was persisted: CCS resends it on a new one. */
  UpstreamLeftToCcs: "upstream_left_to_ccs",
  /** Given up on (shutdown) with its connection closed, so that CCS resends it on a new one. */
  UpstreamAbandoned: "upstream_abandoned",
  /** Coordinated mode: a fetch or send refused because the slot's lease ran out. */
  Fenced: "fenced",
  /** Coordinated mode: slots acquired and lost (label: loss reason). */
  SlotsAcquired: "slots_acquired",
  SlotsLost: "slots_lost",
} as const;
export type Metric = (typeof Metric)[keyof typeof Metric];

export interface LatencySummary {
  count: number;
  sumMs: number;
  maxMs: number;
  /** Upper bounds (ms) of buckets -> count: 1, 2, 5, 10, 20, 50, ... */
  buckets: Record<string, number>;
}

const BOUNDS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, Number.POSITIVE_INFINITY];

/** Where counters are also sent (e.g. OpenTelemetry through @ccs/telemetry, see metrics-otel.ts). */
export interface MetricsSink {
  add(metric: Metric, n: number, label: string | undefined): void;
  record(name: string, ms: number): void;
}

export class WorkerMetrics {
  readonly #counters = new Map<string, number>();
  readonly #sink: MetricsSink | undefined;

  constructor(sink?: MetricsSink) {
    this.#sink = sink;
  }
  readonly #latency = new Map<string, { count: number; sumMs: number; maxMs: number; buckets: number[] }>();

  /** Adds n to a counter; `label` makes a sub-series, e.g. inc("nacked", "BAD_REGISTRATION"). */
  inc(metric: Metric, label?: string, n = 1): void {
    const key = label === undefined ? metric : `${metric}{${label}}`;
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + n);
    if (label !== undefined) this.#counters.set(metric, (this.#counters.get(metric) ?? 0) + n);
    this.#sink?.add(metric, n, label);
  }

  get(metric: Metric, label?: string): number {
    return this.#counters.get(label === undefined ? metric : `${metric}{${label}}`) ?? 0;
  }

  observe(name: string, ms: number): void {
    this.#sink?.record(name, ms);
    let s = this.#latency.get(name);
    if (s === undefined) {
      s = { count: 0, sumMs: 0, maxMs: 0, buckets: BOUNDS.map(() => 0) };
      this.#latency.set(name, s);
    }
    s.count++;
    s.sumMs += ms;
    if (ms > s.maxMs) s.maxMs = ms;
    const i = BOUNDS.findIndex((b) => ms <= b);
    s.buckets[i] = (s.buckets[i] ?? 0) + 1;
  }

  snapshot(): { counters: Record<string, number>; latency: Record<string, LatencySummary> } {
    const latency: Record<string, LatencySummary> = {};
    for (const [name, s] of this.#latency) {
      const buckets: Record<string, number> = {};
      BOUNDS.forEach((b, i) => {
        const n = s.buckets[i] ?? 0;
        if (n > 0) buckets[Number.isFinite(b) ? `le_${b}` : "inf"] = n;
      });
      latency[name] = { count: s.count, sumMs: Math.round(s.sumMs), maxMs: Math.round(s.maxMs), buckets };
    }
    return { counters: Object.fromEntries(this.#counters), latency };
  }
}
