// Lifecycle shared by the scenario files: one cluster per test, logs printed (and kept on disk) when the
// test fails, everything disposed afterwards and checked to be gone.
import type { NatsConnection } from "@nats-io/transport-node";
import { afterEach } from "vitest";
import { Cluster, type ClusterOptions, DEMO_API_KEY, DEMO_SENDER_ID } from "./cluster.ts";
import { connectNats, OutcomeCollector } from "./traffic.ts";

export interface Scenario {
  readonly cluster: Cluster;
  /** The test's own NATS connection (publishing, outcome collection). */
  readonly nc: NatsConnection;
  /** Starts collecting `ccs.out.<sender>` (call once the streams exist, i.e. after a worker is ready). */
  collectOutcomes(senderId: string): Promise<OutcomeCollector>;
}

const live: { cluster: Cluster; nc: NatsConnection | undefined; collectors: OutcomeCollector[] }[] = [];

afterEach(async (ctx) => {
  const failed = ctx.task.result?.state === "fail";
  const entries = live.splice(0);
  for (const e of entries) {
    if (failed) {
      console.error(`[${ctx.task.name}] FAILED — process logs:\n${e.cluster.dumpLogs(40)}`);
    }
    await Promise.allSettled(e.collectors.map((c) => c.close()));
    await e.nc?.close().catch(() => undefined);
    const alive = await e.cluster.dispose({ keepDir: failed });
    if (alive.length > 0) throw new Error(`processes still alive after dispose: ${alive.join(", ")}`);
  }
});

/** Starts a cluster for the current test; on failure prints every process's last lines and keeps the logs. */
export async function startScenario(options: ClusterOptions): Promise<Scenario> {
  const cluster = await Cluster.start(options);
  const entry: (typeof live)[number] = { cluster, nc: undefined, collectors: [] };
  live.push(entry);
  const nc = await connectNats(cluster.natsUrl);
  entry.nc = nc;
  return {
    cluster,
    nc,
    collectOutcomes: async (senderId) => {
      const c = await OutcomeCollector.start(nc, senderId);
      entry.collectors.push(c);
      return c;
    },
  };
}

/**
 * The coordinated-mode setting most scenarios share: the emulator's demo sender with `slots` connections
 * and two coordinators, `<prefix>-c1` and `<prefix>-c2` (workers are the scenario's own business).
 */
export async function startCoordinatedScenario(options: {
  readonly name: string;
  readonly prefix: string;
  readonly slots: number;
  readonly redisNodes?: number;
}): Promise<Scenario> {
  const s = await startScenario({
    name: options.name,
    ...(options.redisNodes === undefined ? {} : { redisNodes: options.redisNodes }),
    senders: [{ senderId: DEMO_SENDER_ID, apiKey: DEMO_API_KEY, connections: options.slots }],
  });
  await Promise.all([
    s.cluster.startCoordinator(`${options.prefix}-c1`),
    s.cluster.startCoordinator(`${options.prefix}-c2`),
  ]);
  return s;
}

/** A console line with timings, so the runs' reports show what happened. */
export function note(scenario: string, what: string, data: Record<string, unknown> = {}): void {
  console.log(`[${scenario}] ${what} ${JSON.stringify(data)}`);
}
