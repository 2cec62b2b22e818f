export type { CoordinatorConfig, CoordinatorConfigInput } from "./config.ts";
export {
  CoordinatorEnv,
  coordinatorInputFromEnv,
  loadCoordinatorConfig,
  mergeInputs,
  parseCoordinatorConfig,
} from "./config.ts";
export type { Coordinator, CoordinatorState } from "./coordinator.ts";
export { startCoordinator } from "./coordinator.ts";
export { DedupeStore } from "./dedupe-store.ts";
export * as defaults from "./defaults.ts";
export { CoordinatorConfigError, IllegalStateError } from "./errors.ts";
export type { DrainPolicy, LeaderLoopOptions, LeaderLoopState } from "./leader-loop.ts";
export { drainPolicy, LeaderLoop } from "./leader-loop.ts";
export type { UpstreamStreamsSpec } from "./streams.ts";
export { ensureUpstreamStreams } from "./streams.ts";
export type { DeduperState, UpstreamCounters, UpstreamDeduperOptions } from "./upstream-deduper.ts";
export { UpstreamDeduper } from "./upstream-deduper.ts";
