import { createKeySchema, type KeySchema, type Logger, silentLogger } from "@ccs/cluster";
import { UpstreamHeaders } from "@ccs/contract";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";

let counter = 0;

export function freshKeys(): KeySchema {
  counter++;
  return createKeySchema(`c${process.pid}-${counter}-${Date.now().toString(36)}:`);
}

export const logger: Logger = process.env.DEBUG_LOG
  ? { debug: console.log, info: console.log, warn: console.log, error: console.log, child: () => logger }
  : silentLogger;

export interface NatsClient {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
}

export async function natsClient(url: string): Promise<NatsClient> {
  const nc = await connect({ servers: url });
  return { nc, js: jetstream(nc), jsm: await jetstreamManager(nc) };
}

export interface UpstreamInput {
  readonly kind: "upstream" | "receipt";
  readonly senderId: string;
  readonly from: string;
  readonly messageId: string;
  readonly category?: string;
  readonly payload?: string;
}

/** Publishes an internal upstream record the way the worker's persister does (no Nats-Msg-Id, so every copy lands). */
export async function publishInternal(js: JetStreamClient, prefix: string, m: UpstreamInput): Promise<void> {
  const h = headers();
  h.set(UpstreamHeaders.kind, m.kind);
  h.set(UpstreamHeaders.senderId, m.senderId);
  h.set(UpstreamHeaders.connectionId, "conn-1");
  h.set(UpstreamHeaders.from, m.from);
  h.set(UpstreamHeaders.messageId, m.messageId);
  if (m.category !== undefined) h.set(UpstreamHeaders.category, m.category);
  h.set(UpstreamHeaders.receivedAt, new Date().toISOString());
  h.set(UpstreamHeaders.workerId, "w1");
  await js.publish(
    `${prefix}.internal.up.${m.senderId}`,
    m.payload ?? JSON.stringify({ message_id: m.messageId, from: m.from }),
    { headers: h },
  );
}

/** Number of messages stored on `subject` in `stream`. */
export async function countOnSubject(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
): Promise<number> {
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}
