// The logger interface and silent default live in @ccs/telemetry; re-exported for existing importers.
export type { LogFn, Logger } from "@ccs/telemetry";
export { silentLogger } from "@ccs/telemetry";
export type { AssignOptions, AssignResult, WorkerCapacity } from "./assign.ts";
export { assign } from "./assign.ts";
export type {
  AssignedSender,
  Assignment,
  AssignmentStoreOptions,
  AssignmentWatch,
} from "./assignment-store.ts";
export {
  AssignmentStore,
  compareAssignments,
  DEFAULT_ASSIGNMENT_POLL_INTERVAL_MS,
} from "./assignment-store.ts";
export type { MonotonicNow } from "./clock.ts";
export { monotonicNow } from "./clock.ts";
export {
  ClusterError,
  IllegalStateError,
  InvalidOptionError,
  LeaseExpiredError,
  LockBusyError,
  QuorumError,
  StaleFencingTokenError,
} from "./errors.ts";
export { issueFencingToken, readFencingToken } from "./fencing.ts";
export type { KeySchema } from "./keys.ts";
export { createKeySchema } from "./keys.ts";
export type { LeaderEvents, LeaderLeaseOptions, LeaderState } from "./leader-lease.ts";
export { DEFAULT_LEADER_TTL_MS, LeaderLease } from "./leader-lease.ts";
export type { LeaseEvents, LeaseLossReason, LeaseOptions, LeaseState } from "./lease.ts";
export { DEFAULT_DRIFT_FACTOR, DEFAULT_LEASE_TTL_MS, Lease } from "./lease.ts";
export type { NodeOutcome, RedisNodesOptions } from "./redis-nodes.ts";
export { DEFAULT_REDIS_COMMAND_TIMEOUT_MS, RedisNodes } from "./redis-nodes.ts";
export type { LoadSendersOptions, SenderConfig } from "./senders.ts";
export {
  DEFAULT_SENDER_CONNECTIONS,
  describeSender,
  loadSendersFile,
  MAX_SENDER_CONNECTIONS,
  mergeSenders,
  parseSenders,
  SendersConfigError,
  sendersDiffer,
} from "./senders.ts";
export type { SendersSourceEvents, SendersSourceOptions, SendersSourceState } from "./senders-source.ts";
export { DEFAULT_SENDERS_RELOAD_INTERVAL_MS, SendersSource } from "./senders-source.ts";
export type { SlotLeaseOptions } from "./slot-lease.ts";
export { acquireSlotLease } from "./slot-lease.ts";
export type {
  OwnershipClientState,
  SlotLossReason,
  SlotOwnershipClientOptions,
  SlotOwnershipEvents,
} from "./slot-ownership-client.ts";
export {
  DEFAULT_ACQUIRE_RETRY_MS,
  DEFAULT_PREPARE_TIMEOUT_MS,
  SlotOwnershipClient,
} from "./slot-ownership-client.ts";
export type { ConnectionHealth, SlotConnectionState, SlotHealth, SlotStatus } from "./slot-status.ts";
export { DEFAULT_SLOT_STATUS_TTL_MS, SlotStatusStore } from "./slot-status.ts";
export type { SlotId, SlotRef } from "./slots.ts";
export { parseSlotId, slotId, slotsOf } from "./slots.ts";
export type { Readiness, StatusServer, StatusServerOptions } from "./status-server.ts";
export { startStatusServer } from "./status-server.ts";
export type { Heartbeat, WorkerInfo, WorkerRegistration, WorkerRegistryOptions } from "./worker-registry.ts";
export { WorkerRegistry } from "./worker-registry.ts";
