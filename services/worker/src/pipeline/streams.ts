/**
 * Idempotent provisioning of the three streams and the per-sender durable consumers.
 * Several workers may run this at once: creating an identical stream/consumer is a no-op for
 * JetStream; a stream that exists with other settings is updated (retention and storage cannot
 * change and are reported as a clear error).
 */

import type { Logger } from "@ccs/telemetry";
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type StreamConfig as JsStreamConfig,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { StreamConfig } from "../config/worker-config.ts";
import { consumerName, type Subjects } from "./subjects.ts";

export class ProvisioningError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProvisioningError";
  }
}

export interface StreamsSpec {
  readonly down: StreamConfig;
  readonly outcomes: StreamConfig;
  readonly upstream: StreamConfig;
}

export interface ConsumerSpec {
  readonly namePrefix: string;
  readonly ackWaitMs: number;
  readonly maxAckPending: number;
}

type Desired = Pick<
  JsStreamConfig,
  "name" | "subjects" | "retention" | "storage" | "num_replicas" | "duplicate_window" | "max_age" | "discard"
>;

function desiredStreams(spec: StreamsSpec, s: Subjects): Desired[] {
  const base = (c: StreamConfig, subject: string, retention: RetentionPolicy): Desired => ({
    name: c.name,
    subjects: [subject],
    retention,
    storage: c.storage === "memory" ? StorageType.Memory : StorageType.File,
    num_replicas: c.replicas,
    duplicate_window: nanos(c.duplicateWindowMs),
    max_age: nanos(c.maxAgeMs),
    discard: DiscardPolicy.Old,
  });
  return [
    base(spec.down, s.downWildcard, RetentionPolicy.Workqueue),
    base(spec.outcomes, s.outcomeWildcard, RetentionPolicy.Limits),
    base(spec.upstream, s.upstreamWildcard, RetentionPolicy.Workqueue),
  ];
}

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/** Creates or updates the down, outcome and upstream streams. */
export async function ensureStreams(jsm: JetStreamManager, spec: StreamsSpec, s: Subjects, logger: Logger) {
  for (const want of desiredStreams(spec, s)) {
    let existing: JsStreamConfig | undefined;
    try {
      existing = (await jsm.streams.info(want.name)).config;
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
    }
    if (existing === undefined) {
      await jsm.streams.add(want);
      logger.info({ stream: want.name, subjects: want.subjects }, "stream created");
      continue;
    }
    if (existing.retention !== want.retention || existing.storage !== want.storage) {
      throw new ProvisioningError(
        `stream ${want.name} exists with retention=${existing.retention} storage=${existing.storage}; ` +
          `the worker needs retention=${want.retention} storage=${want.storage} (these cannot be changed in place)`,
      );
    }
    const differs =
      existing.num_replicas !== want.num_replicas ||
      existing.duplicate_window !== want.duplicate_window ||
      existing.max_age !== want.max_age ||
      !want.subjects.every((x) => existing.subjects?.includes(x));
    if (differs) {
      const subjects = [...new Set([...(existing.subjects ?? []), ...want.subjects])];
      await jsm.streams.update(want.name, {
        ...existing,
        subjects,
        num_replicas: want.num_replicas,
        duplicate_window: want.duplicate_window,
        max_age: want.max_age,
      });
      logger.info({ stream: want.name }, "stream updated");
    }
  }
}

/** Creates or updates the durable pull consumer of one sender; returns its name. */
export async function ensureSenderConsumer(
  jsm: JetStreamManager,
  streamName: string,
  spec: ConsumerSpec,
  s: Subjects,
  senderId: string,
): Promise<string> {
  const name = consumerName(spec.namePrefix, senderId);
  const settings = {
    ack_wait: nanos(spec.ackWaitMs),
    max_ack_pending: spec.maxAckPending,
    // Redeliveries are bounded by the worker's own delivery-count check, which ends in an outcome;
    // JetStream's max_deliver would leave the message in the work queue with no outcome.
    max_deliver: -1,
  };
  try {
    const info = await jsm.consumers.info(streamName, name);
    const c = info.config;
    if (c.ack_wait !== settings.ack_wait || c.max_ack_pending !== settings.max_ack_pending) {
      await jsm.consumers.update(streamName, name, settings);
    }
    return name;
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
  await jsm.consumers.add(streamName, {
    durable_name: name,
    filter_subject: s.down(senderId),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ...settings,
  });
  return name;
}
