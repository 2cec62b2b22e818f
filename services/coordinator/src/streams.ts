// Idempotent provisioning of what the upstream path needs, through @ccs/contract: the published streams
// (CCS_UP, CCS_RECEIPT, whose settings the coordinators own), the internal stream (created with the
// contract's defaults only when missing: the workers own its settings), and the one durable consumer
// every coordinator shares (a consumer group).

import type { Logger } from "@ccs/cluster";
import {
  DEFAULT_INTERNAL_UP_DUPLICATE_WINDOW_MS,
  DEFAULT_INTERNAL_UP_MAX_AGE_MS,
  desiredStream,
  ensureDurableConsumer,
  ensureStream,
  type Subjects,
} from "@ccs/contract";
import type { JetStreamManager } from "@nats-io/jetstream";

export interface UpstreamStreamsSpec {
  readonly replicas: number;
  readonly publishDuplicateWindowMs: number;
  readonly publishedMaxAgeMs: number;
  readonly ackWaitMs: number;
  readonly maxAckPending: number;
}

/** Creates/updates CCS_UP and CCS_RECEIPT, creates CCS_INTERNAL_UP if missing, and the shared consumer. */
export async function ensureUpstreamStreams(
  jsm: JetStreamManager,
  s: Subjects,
  spec: UpstreamStreamsSpec,
  logger: Logger,
): Promise<void> {
  const published = {
    storage: "file",
    replicas: spec.replicas,
    duplicateWindowMs: spec.publishDuplicateWindowMs,
    maxAgeMs: spec.publishedMaxAgeMs,
  } as const;
  await ensureStream(jsm, desiredStream("up", s, published), { update: true, logger });
  await ensureStream(jsm, desiredStream("receipt", s, published), { update: true, logger });
  const internal = {
    storage: "file",
    replicas: spec.replicas,
    duplicateWindowMs: DEFAULT_INTERNAL_UP_DUPLICATE_WINDOW_MS,
    maxAgeMs: DEFAULT_INTERNAL_UP_MAX_AGE_MS,
  } as const;
  await ensureStream(jsm, desiredStream("internalUp", s, internal), { update: false, logger });
  await ensureDurableConsumer(jsm, {
    stream: s.internalUpStream,
    name: s.upstreamConsumer,
    filterSubject: s.internalUpAll,
    ackWaitMs: spec.ackWaitMs,
    maxAckPending: spec.maxAckPending,
  });
}
