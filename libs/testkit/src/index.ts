export type { BinarySpec } from "./binaries.ts";
export { findBinary, NATS_SERVER_BINARY, REDIS_SERVER_BINARY } from "./binaries.ts";
export type { ContainerRuntimeStatus, InfraMode, RequestedInfraMode } from "./container-runtime.ts";
export {
  DEFAULT_INFRA_MODE,
  DETECT_TIMEOUT_MS,
  detectContainerRuntime,
  INFRA_MODE_ENV,
  resolveInfraMode,
} from "./container-runtime.ts";
export {
  BinaryNotFoundError,
  ContainerRuntimeUnavailableError,
  IllegalStateError,
  InvalidOptionError,
  PortInUseError,
  ProcessExitedError,
  ReadyTimeoutError,
  ServerStartError,
  SpawnError,
  TestkitError,
  WaitTimeoutError,
} from "./errors.ts";
export { DEFAULT_HOST, freePort, isPortFree } from "./free-port.ts";
export type { Infrastructure, StartInfrastructureOptions } from "./infrastructure.ts";
export { DEFAULT_REDIS_NODES, startInfrastructure } from "./infrastructure.ts";
export type { TestkitLogger } from "./logger.ts";
export type { StartNatsOptions } from "./nats.ts";
export {
  DEFAULT_NATS_IMAGE,
  DEFAULT_NATS_JETSTREAM,
  DEFAULT_NATS_READY_TIMEOUT_MS,
  startNats,
} from "./nats.ts";
export type { ExitStatus, LineMatcher, OutputStream, ProcessHandle, SpawnProcessOptions } from "./process.ts";
export { DEFAULT_READY_TIMEOUT_MS, DEFAULT_STOP_TIMEOUT_MS, spawnProcess } from "./process.ts";
export type { StartRedisOptions } from "./redis.ts";
export { DEFAULT_REDIS_IMAGE, DEFAULT_REDIS_READY_TIMEOUT_MS, startRedis } from "./redis.ts";
export type { ServerHandle, ServerKind, ServerState } from "./server-handle.ts";
export type { WaitForOptions, WaitProbe } from "./wait-for.ts";
export { DEFAULT_WAIT_INTERVAL_MS, waitFor } from "./wait-for.ts";
