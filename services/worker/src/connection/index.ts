// Public surface of the worker's connection layer (for the pipeline and main.ts). Named exports only.

export type { BackoffOptions } from "./backoff.ts";
export type { Clock } from "./clock.ts";
export { systemClock } from "./clock.ts";
export type {
  CcsConnection,
  ConnectionEvents,
  ConnectionSlot,
  ConnectionState,
  SendResult,
  SlotEvents,
  UpstreamDelivery,
  UpstreamSink,
} from "./contract.ts";
export {
  AuthenticationError,
  ConnectError,
  ConnectionClosedError,
  IllegalStateError,
  InvalidConnectionOptionError,
} from "./errors.ts";
export {
  DEFAULT_ANSWER_TIMEOUT_MS,
  DEFAULT_BACKOFF,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_DOMAIN,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_PING_INTERVAL_MS,
  DEFAULT_PING_TIMEOUT_MS,
  DEFAULT_RECYCLE_GHOST_FRACTION,
  DEFAULT_WINDOW_SIZE,
  parseSlotOptions,
  type ResolvedSlotOptions,
  type ServiceOptions,
  type SlotOptions,
} from "./options.ts";
export type { SecretLike } from "./secret.ts";
export { CcsConnectionSlot, createConnectionSlot, type SlotStatus } from "./slot.ts";
export type { CloseInfo } from "./xmpp-connection.ts";
