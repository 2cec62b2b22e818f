import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { BinaryNotFoundError } from "./errors.ts";

export interface BinarySpec {
  readonly name: string;
  readonly envVar: string;
}

export const NATS_SERVER_BINARY: BinarySpec = { name: "nats-server", envVar: "CCS_NATS_SERVER_BIN" };
export const REDIS_SERVER_BINARY: BinarySpec = { name: "redis-server", envVar: "CCS_REDIS_SERVER_BIN" };

/** Directories searched after PATH (Debian installs nats-server into /usr/sbin). */
export const EXTRA_BINARY_DIRS: readonly string[] = [
  "/usr/sbin",
  "/usr/local/sbin",
  "/usr/bin",
  "/usr/local/bin",
];

/**
 * Resolves a server binary: `env[spec.envVar]` when set (must be executable), else the first executable
 * `spec.name` on PATH, else in {@link EXTRA_BINARY_DIRS}.
 * @throws BinaryNotFoundError saying what to install.
 */
export async function findBinary(spec: BinarySpec, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const override = env[spec.envVar];
  if (override !== undefined && override !== "") {
    if (await isExecutable(override)) {
      return override;
    }
    throw new BinaryNotFoundError(spec.name, spec.envVar, [`${spec.envVar}=${override}`]);
  }
  const dirs = [...(env.PATH ?? "").split(delimiter).filter((d) => d !== ""), ...EXTRA_BINARY_DIRS];
  const candidates = [...new Set(dirs)].map((dir) => join(dir, spec.name));
  for (const candidate of candidates) {
    if (await isExecutable(candidate)) {
      return candidate;
    }
  }
  throw new BinaryNotFoundError(spec.name, spec.envVar, ["PATH", ...EXTRA_BINARY_DIRS]);
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    // Not there or not executable: the caller tries the next candidate.
    return false;
  }
}
