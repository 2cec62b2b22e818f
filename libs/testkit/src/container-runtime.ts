import { getContainerRuntimeClient } from "testcontainers";
import { ContainerRuntimeUnavailableError, describeError, InvalidOptionError } from "./errors.ts";

export type InfraMode = "container" | "local";
export type RequestedInfraMode = InfraMode | "auto";

export type ContainerRuntimeStatus =
  | { readonly available: true }
  | { readonly available: false; readonly reason: string };

/** Environment variable that selects the mode when the caller does not: auto | local | container. */
export const INFRA_MODE_ENV = "CCS_TEST_INFRA";
/** Default mode when neither the caller nor {@link INFRA_MODE_ENV} chooses one. */
export const DEFAULT_INFRA_MODE: RequestedInfraMode = "auto";
/** Upper bound for runtime detection; it must never hang a test run. */
export const DETECT_TIMEOUT_MS = 2_000;

let cached: Promise<ContainerRuntimeStatus> | undefined;

/**
 * Reports whether a container runtime (Docker engine) is reachable, within {@link DETECT_TIMEOUT_MS}.
 * The answer is cached for the life of the process. Never rejects.
 */
export function detectContainerRuntime(): Promise<ContainerRuntimeStatus> {
  cached ??= detect();
  return cached;
}

async function detect(): Promise<ContainerRuntimeStatus> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ContainerRuntimeStatus>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          available: false,
          reason: `no answer from a container runtime within ${DETECT_TIMEOUT_MS} ms`,
        }),
      DETECT_TIMEOUT_MS,
    );
    timer.unref();
  });
  const probe = getContainerRuntimeClient().then(
    (): ContainerRuntimeStatus => ({ available: true }),
    (err: unknown): ContainerRuntimeStatus => ({ available: false, reason: describeError(err) }),
  );
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function parseRequested(value: string, source: string): RequestedInfraMode {
  if (value === "auto" || value === "local" || value === "container") {
    return value;
  }
  throw new InvalidOptionError(
    `${source} must be one of auto, local, container (got ${JSON.stringify(value)})`,
  );
}

/**
 * Chooses the infrastructure mode: `requested` if given, else env {@link INFRA_MODE_ENV}, else "auto".
 * "auto" picks "container" when a runtime is reachable and "local" otherwise.
 * @throws ContainerRuntimeUnavailableError when "container" is required but unavailable.
 */
export async function resolveInfraMode(
  requested?: RequestedInfraMode,
  env: NodeJS.ProcessEnv = process.env,
): Promise<InfraMode> {
  const fromEnv = env[INFRA_MODE_ENV];
  const mode =
    requested !== undefined
      ? parseRequested(requested, "mode")
      : fromEnv !== undefined && fromEnv !== ""
        ? parseRequested(fromEnv, INFRA_MODE_ENV)
        : DEFAULT_INFRA_MODE;
  if (mode === "local") {
    return "local";
  }
  const runtime = await detectContainerRuntime();
  if (runtime.available) {
    return "container";
  }
  if (mode === "container") {
    throw new ContainerRuntimeUnavailableError(runtime.reason);
  }
  return "local";
}
