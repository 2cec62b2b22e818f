// Idempotent provisioning of what the upstream path needs: the published streams (CCS_UP, CCS_RECEIPT),
// the internal stream (created with the worker's settings only when missing; the worker owns its
// settings), and the one durable consumer every coordinator shares (a consumer group).

import type { Logger, Subjects } from "@ccs/cluster";
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { DEFAULT_INTERNAL_DUPLICATE_WINDOW_MS, DEFAULT_INTERNAL_MAX_AGE_MS } from "./defaults.ts";

export interface UpstreamStreamsSpec {
  readonly replicas: number;
  readonly publishDuplicateWindowMs: number;
  readonly publishedMaxAgeMs: number;
  readonly ackWaitMs: number;
  readonly maxAckPending: number;
}

/** JetStream API error "stream name already in use" (created meanwhile with other settings). */
const STREAM_NAME_IN_USE = 10058;

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

async function ensureStream(
  jsm: JetStreamManager,
  want: Partial<StreamConfig> & { name: string; subjects: string[] },
  update: boolean,
  logger: Logger,
): Promise<void> {
  let existing: StreamConfig | undefined;
  try {
    existing = (await jsm.streams.info(want.name)).config;
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
  }
  if (existing === undefined) {
    try {
      await jsm.streams.add(want);
      logger.info({ stream: want.name, subjects: want.subjects }, "stream created");
    } catch (err) {
      // Another replica (or a worker) created it between our info and add: fine.
      if (!isApiError(err, STREAM_NAME_IN_USE)) throw err;
    }
    return;
  }
  if (!update) {
    return;
  }
  const differs =
    existing.duplicate_window !== want.duplicate_window ||
    existing.max_age !== want.max_age ||
    !want.subjects.every((s) => existing.subjects?.includes(s));
  if (differs) {
    await jsm.streams.update(want.name, {
      ...existing,
      subjects: [...new Set([...(existing.subjects ?? []), ...want.subjects])],
      ...(want.duplicate_window !== undefined ? { duplicate_window: want.duplicate_window } : {}),
      ...(want.max_age !== undefined ? { max_age: want.max_age } : {}),
    });
    logger.info({ stream: want.name }, "stream updated");
  }
}

/** Creates/updates CCS_UP and CCS_RECEIPT, creates CCS_INTERNAL_UP if missing, and the shared consumer. */
export async function ensureUpstreamStreams(
  jsm: JetStreamManager,
  s: Subjects,
  spec: UpstreamStreamsSpec,
  logger: Logger,
): Promise<void> {
  const published = (name: string, subject: string) => ({
    name,
    subjects: [subject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: spec.replicas,
    duplicate_window: nanos(spec.publishDuplicateWindowMs),
    max_age: nanos(spec.publishedMaxAgeMs),
    discard: DiscardPolicy.Old,
  });
  await ensureStream(jsm, published(s.upStream, s.upAll), true, logger);
  await ensureStream(jsm, published(s.receiptStream, s.receiptAll), true, logger);
  await ensureStream(
    jsm,
    {
      name: s.internalUpStream,
      subjects: [s.internalUpAll],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      num_replicas: spec.replicas,
      duplicate_window: nanos(DEFAULT_INTERNAL_DUPLICATE_WINDOW_MS),
      max_age: nanos(DEFAULT_INTERNAL_MAX_AGE_MS),
      discard: DiscardPolicy.Old,
    },
    false,
    logger,
  );
  const settings = { ack_wait: nanos(spec.ackWaitMs), max_ack_pending: spec.maxAckPending };
  try {
    const info = await jsm.consumers.info(s.internalUpStream, s.upstreamConsumer);
    if (
      info.config.ack_wait !== settings.ack_wait ||
      info.config.max_ack_pending !== settings.max_ack_pending
    ) {
      await jsm.consumers.update(s.internalUpStream, s.upstreamConsumer, settings);
    }
    return;
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
  await jsm.consumers.add(s.internalUpStream, {
    durable_name: s.upstreamConsumer,
    filter_subject: s.internalUpAll,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_deliver: -1,
    ...settings,
  });
}
