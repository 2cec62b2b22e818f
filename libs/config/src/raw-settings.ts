// Turning environment variables and flags (strings) into typed values placed at paths of a config input.
// Values that do not convert stay strings, so the schema reports them with their path.

import { type EnvBindings, type EnvKind, type EnvName, envKind } from "./env-vocabulary.ts";

export type Env = Readonly<Record<string, string | undefined>>;

/** One setting from outside a file: its origin (variable or flag), the path it sets, its kind, its text. */
export interface RawSetting {
  readonly origin: string;
  readonly path: string;
  readonly kind: EnvKind;
  readonly text: string;
}

export function envSettings(env: Env, bindings: EnvBindings): RawSetting[] {
  const out: RawSetting[] = [];
  for (const [name, path] of Object.entries(bindings) as [EnvName, string][]) {
    const text = env[name]?.trim();
    if (text !== undefined && text !== "") out.push({ origin: name, path, kind: envKind(name), text });
  }
  return out;
}

/** The typed value of a setting, or a problem message (never quoting the value: it may be a secret). */
export function convert(setting: RawSetting): { value: unknown } | { problem: string } {
  const { kind, text } = setting;
  switch (kind) {
    case "string":
      return { value: text };
    case "int":
    case "number": {
      const n = Number(text);
      if (!Number.isFinite(n) || (kind === "int" && !Number.isInteger(n))) {
        return { problem: `must be ${kind === "int" ? "an integer" : "a number"}` };
      }
      return { value: n };
    }
    case "bool": {
      const v = text.toLowerCase();
      if (["true", "1", "yes"].includes(v)) return { value: true };
      if (["false", "0", "no"].includes(v)) return { value: false };
      return { problem: "must be true or false" };
    }
    case "list":
      return {
        value: text
          .split(",")
          .map((s) => s.trim())
          .filter((s) => s !== ""),
      };
    case "json":
      try {
        return { value: JSON.parse(text) as unknown };
      } catch {
        return { problem: "must be JSON" };
      }
  }
}

/** A copy of `base` with `value` at the dotted `path` (objects along the way are copied, never mutated). */
export function setAtPath(
  base: Record<string, unknown>,
  path: string,
  value: unknown,
): Record<string, unknown> {
  const [head, ...rest] = path.split(".");
  if (head === undefined) return base;
  if (rest.length === 0) return { ...base, [head]: value };
  const child = base[head];
  const inner = typeof child === "object" && child !== null && !Array.isArray(child) ? child : {};
  return { ...base, [head]: setAtPath(inner as Record<string, unknown>, rest.join("."), value) };
}
