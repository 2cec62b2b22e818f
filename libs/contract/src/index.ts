// @ccs/contract: every name, record shape, id rule and default that two processes share.

export {
  DEFAULT_INTERNAL_UP_DUPLICATE_WINDOW_MS,
  DEFAULT_INTERNAL_UP_MAX_AGE_MS,
  DEFAULT_KEY_PREFIX,
  DEFAULT_SUBJECT_PREFIX,
  DEFAULT_WINDOW_SIZE,
  DEFAULT_WORKER_CONSUMER_PREFIX,
  DEFAULT_WORKER_TTL_MS,
} from "./defaults.ts";
export { ContractError, MalformedUpstreamError } from "./errors.ts";
export {
  JSON_SCHEMA_FILES,
  OUTCOME_JSON_SCHEMA,
  RECEIPT_JSON_SCHEMA,
  UPSTREAM_MESSAGE_JSON_SCHEMA,
} from "./json-schemas.ts";
export {
  OUTCOME_SCHEMA_VERSION,
  type Outcome,
  OutcomeHeaders,
  OutcomeStatus,
  outcomeMsgId,
  TokenAction,
  WorkerCode,
} from "./outcome.ts";
export { isValidSenderId, SENDER_ID_PATTERN } from "./sender-id.ts";
export type { SenderEntry } from "./senders-file.ts";
export {
  DEFAULT_CONNECTIONS_PER_SENDER,
  MAX_CONNECTIONS_PER_SENDER,
  senderEntrySchema,
  senderIdSchema,
  sendersFileSchema,
} from "./senders-file.ts";
export {
  type DesiredStream,
  type DurableConsumerSpec,
  desiredStream,
  type EnsureResult,
  ensureDurableConsumer,
  ensureStream,
  ProvisioningError,
  type ProvisioningLog,
  STREAM_RETENTION,
  type StreamRole,
  type StreamSettings,
} from "./streams.ts";
export {
  categoryToken,
  createSubjects,
  defaultStreamNames,
  NO_CATEGORY,
  type StreamNames,
  type Subjects,
} from "./subjects.ts";
export {
  parseUpstreamHeaders,
  UpstreamHeaders,
  type UpstreamKind,
  type UpstreamRecord,
  upstreamDedupeDigest,
  upstreamMsgId,
} from "./upstream.ts";
