/**
 * The worker's streams and consumers, provisioned through @ccs/contract (idempotent; several workers and
 * coordinators may provision at once): the down, outcome and internal upstream streams with this
 * worker's configured settings, and one durable pull consumer per sender on the down stream.
 */

import {
  createSubjects,
  desiredStream,
  ensureDurableConsumer,
  ensureStream,
  type StreamRole,
  type Subjects,
} from "@ccs/contract";
import type { Logger } from "@ccs/telemetry";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { StreamConfig, WorkerConfig } from "../config/worker-config.ts";

export interface ConsumerSpec {
  readonly namePrefix: string;
  readonly ackWaitMs: number;
  readonly maxAckPending: number;
}

/** The contract's subjects under the worker's prefix, with its configured stream names. */
export function workerSubjects(config: Pick<WorkerConfig, "subjectPrefix" | "streams">): Subjects {
  const { down, outcomes, upstream } = config.streams;
  return createSubjects(config.subjectPrefix, {
    down: down.name,
    out: outcomes.name,
    internalUp: upstream.name,
  });
}

/** Creates or updates the down, outcome and internal upstream streams (the worker owns their settings). */
export async function ensureStreams(
  jsm: JetStreamManager,
  streams: WorkerConfig["streams"],
  subjects: Subjects,
  logger: Logger,
): Promise<void> {
  const roles: ReadonlyArray<[StreamRole, StreamConfig]> = [
    ["down", streams.down],
    ["outcomes", streams.outcomes],
    ["internalUp", streams.upstream],
  ];
  for (const [role, settings] of roles) {
    await ensureStream(jsm, desiredStream(role, subjects, settings), { update: true, logger });
  }
}

/** Creates or updates the durable pull consumer of one sender; returns its name. */
export async function ensureSenderConsumer(
  jsm: JetStreamManager,
  spec: ConsumerSpec,
  subjects: Subjects,
  senderId: string,
): Promise<string> {
  const name = subjects.senderConsumer(senderId, spec.namePrefix);
  await ensureDurableConsumer(jsm, {
    stream: subjects.downStream,
    name,
    filterSubject: subjects.down(senderId),
    ackWaitMs: spec.ackWaitMs,
    maxAckPending: spec.maxAckPending,
  });
  return name;
}
