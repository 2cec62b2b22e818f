// The five JetStream streams of the contract, their durable consumers, and one idempotent way to
// provision them that every process uses. Several processes (workers, coordinators) provision at start,
// possibly at the same moment: creating what another process just created is not an error, and a stream
// that exists with settings that cannot change in place (retention, storage) is a clear ProvisioningError.

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
import { ContractError } from "./errors.ts";
import type { Subjects } from "./subjects.ts";

/** A stream that exists with settings this process cannot use and that cannot be changed in place. */
export class ProvisioningError extends ContractError {
  override readonly name = "ProvisioningError";
}

/** The streams of the contract (names and subjects in Subjects). */
export type StreamRole = "down" | "outcomes" | "internalUp" | "up" | "receipt";

/**
 * Retention per stream: the down stream and the internal upstream stream are work queues (a message is
 * gone once a worker / a coordinator acked it); outcomes and the published upstream streams keep
 * messages for their consumers (limits: age, and the duplicate window for exactly-once publishing).
 */
export const STREAM_RETENTION: Readonly<Record<StreamRole, RetentionPolicy>> = {
  down: RetentionPolicy.Workqueue,
  outcomes: RetentionPolicy.Limits,
  internalUp: RetentionPolicy.Workqueue,
  up: RetentionPolicy.Limits,
  receipt: RetentionPolicy.Limits,
};

/** What a deployment chooses per stream. */
export interface StreamSettings {
  readonly storage: "file" | "memory";
  readonly replicas: number;
  readonly duplicateWindowMs: number;
  /** 0 = no age limit. */
  readonly maxAgeMs: number;
}

export type DesiredStream = Pick<
  JsStreamConfig,
  "name" | "subjects" | "retention" | "storage" | "num_replicas" | "duplicate_window" | "max_age" | "discard"
>;

/** The stream configuration of `role` under `subjects` (name and subject from there). */
export function desiredStream(role: StreamRole, subjects: Subjects, settings: StreamSettings): DesiredStream {
  const [name, subject] = streamNameAndSubject(role, subjects);
  return {
    name,
    subjects: [subject],
    retention: STREAM_RETENTION[role],
    storage: settings.storage === "memory" ? StorageType.Memory : StorageType.File,
    num_replicas: settings.replicas,
    duplicate_window: nanos(settings.duplicateWindowMs),
    max_age: nanos(settings.maxAgeMs),
    discard: DiscardPolicy.Old,
  };
}

function streamNameAndSubject(role: StreamRole, s: Subjects): [string, string] {
  switch (role) {
    case "down":
      return [s.downStream, s.downAll];
    case "outcomes":
      return [s.outStream, s.outAll];
    case "internalUp":
      return [s.internalUpStream, s.internalUpAll];
    case "up":
      return [s.upStream, s.upAll];
    case "receipt":
      return [s.receiptStream, s.receiptAll];
  }
}

/** JetStream API error "stream name already in use" (another process created it with other settings). */
const STREAM_NAME_IN_USE = 10058;

function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/** "created": our add succeeded (JetStream also answers an identical concurrent add with success). */
export type EnsureResult = "created" | "updated" | "unchanged";

/** Logs what provisioning did (any logger with `info`). */
export interface ProvisioningLog {
  info(fields: Record<string, unknown>, msg: string): void;
}

/**
 * Creates the stream, or brings an existing one to `want` (`update: true`, the owner of its settings) or
 * leaves its settings alone (`update: false`, e.g. a coordinator making sure the workers' internal
 * stream exists). Idempotent and safe when another process creates the same stream concurrently.
 * @throws ProvisioningError when it exists with another retention or storage (not changeable in place).
 */
export async function ensureStream(
  jsm: JetStreamManager,
  want: DesiredStream,
  options: { readonly update: boolean; readonly logger: ProvisioningLog },
): Promise<EnsureResult> {
  let existing = await streamConfig(jsm, want.name);
  if (existing === undefined) {
    try {
      await jsm.streams.add(want);
      options.logger.info({ stream: want.name, subjects: want.subjects }, "stream created");
      return "created";
    } catch (err) {
      // Another process created it between our look-up and our add: continue with what it created.
      if (!isApiError(err, STREAM_NAME_IN_USE)) throw err;
      existing = await streamConfig(jsm, want.name);
      if (existing === undefined) throw err;
    }
  }
  // Storage is the owner's choice (a worker may keep the internal stream in memory); retention is the
  // contract (work queue or limits) and must match for every process.
  const storageMatters = options.update;
  if (existing.retention !== want.retention || (storageMatters && existing.storage !== want.storage)) {
    throw new ProvisioningError(
      `stream ${want.name} exists with retention=${existing.retention} storage=${existing.storage}; ` +
        `the contract needs retention=${want.retention} storage=${want.storage} (these cannot be changed in place)`,
    );
  }
  if (!options.update) return "unchanged";
  const wantSubjects = want.subjects ?? [];
  const differs =
    existing.num_replicas !== want.num_replicas ||
    existing.duplicate_window !== want.duplicate_window ||
    existing.max_age !== want.max_age ||
    !wantSubjects.every((x) => existing.subjects?.includes(x));
  if (!differs) return "unchanged";
  await jsm.streams.update(want.name, {
    ...existing,
    subjects: [...new Set([...(existing.subjects ?? []), ...wantSubjects])],
    num_replicas: want.num_replicas,
    duplicate_window: want.duplicate_window,
    max_age: want.max_age,
  });
  options.logger.info({ stream: want.name }, "stream updated");
  return "updated";
}

async function streamConfig(jsm: JetStreamManager, name: string): Promise<JsStreamConfig | undefined> {
  try {
    return (await jsm.streams.info(name)).config;
  } catch (err) {
    if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return undefined;
    throw err;
  }
}

export interface DurableConsumerSpec {
  readonly stream: string;
  readonly name: string;
  readonly filterSubject: string;
  readonly ackWaitMs: number;
  readonly maxAckPending: number;
}

/**
 * Creates a durable pull consumer (explicit ack, from the start, no max_deliver: the consuming service
 * bounds redeliveries itself and ends each message with a published result), or updates its ack wait
 * and max ack pending. Idempotent; concurrent creation of the same consumer by several processes is fine.
 */
export async function ensureDurableConsumer(jsm: JetStreamManager, spec: DurableConsumerSpec): Promise<void> {
  const settings = { ack_wait: nanos(spec.ackWaitMs), max_ack_pending: spec.maxAckPending, max_deliver: -1 };
  try {
    const c = (await jsm.consumers.info(spec.stream, spec.name)).config;
    if (c.ack_wait !== settings.ack_wait || c.max_ack_pending !== settings.max_ack_pending) {
      await jsm.consumers.update(spec.stream, spec.name, settings);
    }
    return;
  } catch (err) {
    if (!isApiError(err, JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
  // Adding a consumer with the same configuration as an existing one is a no-op for JetStream.
  await jsm.consumers.add(spec.stream, {
    durable_name: spec.name,
    filter_subject: spec.filterSubject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ...settings,
  });
}
