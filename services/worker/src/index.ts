// Public surface of @ccs/worker (named exports only; internals stay private).

export type {
  AssignmentEvents,
  AssignmentSource,
  SlotFence,
  SlotGrant,
} from "./assignment/assignment-source.ts";
export type {
  CoordinatedAssignmentOptions,
  CoordinatedState,
  OwnedSlotStatus,
} from "./assignment/coordinated-assignment.ts";
export { CoordinatedAssignment } from "./assignment/coordinated-assignment.ts";
export { CapacityError, PrepareAbortedError } from "./assignment/prepared-slots.ts";
export type { StaticSender } from "./assignment/static-assignment.ts";
export { StaticAssignment } from "./assignment/static-assignment.ts";
export { ConfigError } from "./config/errors.ts";
export { ENV as WorkerEnv, loadWorkerConfig } from "./config/load-config.ts";
export type { ParseContext } from "./config/parse-config.ts";
export { parseWorkerConfig } from "./config/parse-config.ts";
export type {
  ClusterConfig,
  SenderConfig,
  WorkerConfig,
  WorkerConfigInput,
  WorkerMode,
} from "./config/worker-config.ts";
export { WorkerMetrics } from "./metrics.ts";
export type { PipelineState } from "./pipeline/worker-pipeline.ts";
export { WorkerPipeline } from "./pipeline/worker-pipeline.ts";
export type { ConnectionStatus, WorkerStatus } from "./status.ts";
export type { StartWorkerOptions, WorkerHandle, WorkerState } from "./worker.ts";
export { connectionSlotFactory, connectNats, READY_MESSAGE, SERVICE_NAME, startWorker } from "./worker.ts";
