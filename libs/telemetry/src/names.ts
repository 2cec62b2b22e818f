/**
 * Span names, in one place so dashboards and tests agree. Kinds: PRODUCER for publishes, CONSUMER
 * for deliveries, CLIENT for what goes to CCS.
 */
export const SpanNames = {
  /** A message published to a NATS JetStream subject (app server -> downstream stream). */
  natsPublish: "nats.publish",
  /** A message delivered by a JetStream consumer and processed by a worker. */
  natsConsume: "nats.consume",
  /** A downstream message sent to CCS over XMPP, until its ACK/NACK. */
  ccsSend: "ccs.send",
  /** An ACK received from CCS. */
  ccsAck: "ccs.ack",
  /** A NACK received from CCS. */
  ccsNack: "ccs.nack",
  /** A control message from CCS (e.g. CONNECTION_DRAINING). */
  ccsControl: "ccs.control",
  /** A delivery outcome (ack/nack/receipt) published back for the app server. */
  outcomePublish: "outcome.publish",
  /** An upstream (device -> app) message published to NATS. */
  upstreamPublish: "upstream.publish",
} as const;

export type SpanName = (typeof SpanNames)[keyof typeof SpanNames];

/**
 * Attribute keys. Never put secrets (API keys, passwords) or registration tokens in attributes.
 * `messaging.*` follow the OpenTelemetry messaging semantic conventions.
 */
export const Attr = {
  messageId: "ccs.message_id",
  senderId: "ccs.sender_id",
  nackCode: "ccs.nack_code",
  retryClass: "ccs.retry_class",
  attempt: "ccs.attempt",
  outcome: "ccs.outcome",
  messageType: "ccs.message_type",
  connectionId: "ccs.connection_id",
  workerId: "ccs.worker_id",
  messagingSystem: "messaging.system",
  messagingOperationType: "messaging.operation.type",
  messagingDestination: "messaging.destination.name",
  messagingMessageId: "messaging.message.id",
  messagingConsumerGroup: "messaging.consumer.group.name",
} as const;

export type AttrKey = (typeof Attr)[keyof typeof Attr];

/** Values for {@link Attr.messagingSystem}. */
export const MessagingSystem = { nats: "nats", ccs: "gcm_ccs" } as const;

/** Values for {@link Attr.messagingOperationType}. */
export const MessagingOperation = {
  send: "send",
  receive: "receive",
  process: "process",
  settle: "settle",
} as const;
