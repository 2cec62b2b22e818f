// The one loader of every service's config: an optional JSON file (CCS_CONFIG), then environment
// variables, then command-line flags, each on top of the one before, validated by the service's zod
// schema. Every problem is reported at once, with its path and where the value came from.

import { readFileSync } from "node:fs";
import type { z } from "zod";
import { ConfigError, type ConfigProblem } from "./config-error.ts";
import type { EnvBindings } from "./env-vocabulary.ts";
import { convert, type Env, envSettings, type RawSetting, setAtPath } from "./raw-settings.ts";

export interface LoadConfigOptions {
  /** Default process.env. */
  readonly env?: Env;
  /** Environment variables this service reads, and where each goes. */
  readonly bindings: EnvBindings;
  /** Settings from command-line flags (highest precedence). */
  readonly flags?: readonly RawSetting[];
  /** Programmatic input under the file (lowest precedence). */
  readonly base?: Record<string, unknown>;
  /** Read the file named by CCS_CONFIG. Default true. */
  readonly configFile?: boolean;
}

export const CONFIG_FILE_ENV = "CCS_CONFIG";

/** Validates `input` with `schema`; throws one ConfigError listing every problem. */
export function parseConfig<S extends z.ZodType>(
  schema: S,
  input: unknown,
  origins: ReadonlyMap<string, string> = new Map(),
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const path = issue.path.map(String).join(".");
      return withOrigin({ path, message: issue.message }, origins);
    }),
  );
}

export function loadConfig<S extends z.ZodType>(schema: S, options: LoadConfigOptions): z.output<S> {
  const env = options.env ?? process.env;
  const problems: ConfigProblem[] = [];
  const origins = new Map<string, string>();
  let input: Record<string, unknown> = { ...options.base };
  const file = options.configFile === false ? undefined : env[CONFIG_FILE_ENV]?.trim();
  if (file !== undefined && file !== "") {
    const fromFile = readConfigFile(file);
    if ("problem" in fromFile)
      throw new ConfigError([{ path: "", origin: CONFIG_FILE_ENV, message: fromFile.problem }]);
    input = deepMerge(input, fromFile.value);
  }
  for (const setting of [...envSettings(env, options.bindings), ...(options.flags ?? [])]) {
    const converted = convert(setting);
    if ("problem" in converted)
      problems.push({ path: setting.path, origin: setting.origin, message: converted.problem });
    else {
      input = setAtPath(input, setting.path, converted.value);
      origins.set(setting.path, setting.origin);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return parseConfig(schema, input, origins);
}

function readConfigFile(path: string): { value: Record<string, unknown> } | { problem: string } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    return { problem: `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "read error"})` };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: `${path} is not valid JSON` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { problem: `${path} must hold a JSON object` };
  }
  return { value: value as Record<string, unknown> };
}

function deepMerge(base: Record<string, unknown>, top: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(top)) {
    const b = out[k];
    const bothObjects = [b, v].every((x) => typeof x === "object" && x !== null && !Array.isArray(x));
    out[k] = bothObjects ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}

/** Names the variable or flag that set the value at `path` (or at a parent of it). */
function withOrigin(problem: ConfigProblem, origins: ReadonlyMap<string, string>): ConfigProblem {
  for (let path = problem.path; ; path = path.slice(0, Math.max(0, path.lastIndexOf(".")))) {
    const origin = origins.get(path);
    if (origin !== undefined) return { ...problem, origin };
    if (path === "") return problem;
  }
}
