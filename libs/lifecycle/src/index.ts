export { IllegalStateError } from "./illegal-state-error.ts";
export type {
  LifecycleListener,
  LifecycleLogger,
  LifecycleOptions,
  TransitionTable,
} from "./lifecycle.ts";
export { Lifecycle } from "./lifecycle.ts";
