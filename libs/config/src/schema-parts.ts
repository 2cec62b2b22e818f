// Schema pieces every service shares, so that the same setting is validated the same way everywhere.

import { Secret } from "@ccs/telemetry";
import { z } from "zod";

export const DEFAULT_NATS_SERVERS: readonly string[] = ["nats://127.0.0.1:4222"];
export const DEFAULT_REDIS_URLS: readonly string[] = ["redis://127.0.0.1:6379"];
/** Every service's HTTP server (/healthz, /readyz, /status) listens on all interfaces by default. */
export const DEFAULT_HTTP_HOST = "0.0.0.0";

/** A non-empty string wrapped in a Secret: it cannot reach a log, a status page or an error. */
export const secretSchema = z
  .string()
  .min(1)
  .transform((value) => new Secret(value));

/** A duration or count in whole units, with a documented default. */
export function intSetting(min: number, max: number, fallback: number) {
  return z.int().min(min).max(max).default(fallback);
}

export const portSchema = z.int().min(0).max(65_535);

/** A comma-separated string or a list; each entry must match `pattern`. */
function urlList(pattern: RegExp, what: string, fallback: readonly string[]) {
  return z
    .preprocess(
      (v) =>
        typeof v === "string"
          ? v
              .split(",")
              .map((s) => s.trim())
              .filter((s) => s !== "")
          : v,
      z.array(z.string().regex(pattern, `must be ${what} URLs`)).min(1, "must list at least one server"),
    )
    .default([...fallback]);
}

export const natsServersSchema = urlList(
  /^(nats|tls|wss?):\/\/\S+$/,
  "nats://, tls:// or ws(s)://",
  DEFAULT_NATS_SERVERS,
);

/** Redlock needs an odd number of independent nodes for a majority. */
export function redisUrlsSchema(fallback: readonly string[]) {
  return urlList(/^rediss?:\/\/\S+$/, "redis:// or rediss://", fallback).refine(
    (urls) => urls.length === 0 || urls.length % 2 === 1,
    "needs an odd number of independent Redis nodes (1, 3, 5...)",
  );
}

/** NATS authentication: one method at most; user and pass together. */
export const natsAuthSchema = z
  .strictObject({
    servers: natsServersSchema,
    user: z.string().min(1).optional(),
    pass: secretSchema.optional(),
    token: secretSchema.optional(),
    credsFile: z.string().min(1).optional(),
  })
  .check((ctx) => {
    const v = ctx.value;
    if ((v.user === undefined) !== (v.pass === undefined)) {
      ctx.issues.push({
        code: "custom",
        input: v,
        message: "user and pass go together: set both or neither",
      });
    }
    const methods = [v.user, v.token, v.credsFile].filter((m) => m !== undefined).length;
    if (methods > 1) {
      ctx.issues.push({
        code: "custom",
        input: v,
        message: "choose one authentication method: user/pass, token or credsFile",
      });
    }
  });

export function httpSchema(defaultPort: number) {
  return z.strictObject({
    host: z.string().min(1).default(DEFAULT_HTTP_HOST),
    port: portSchema.default(defaultPort),
  });
}

/** This process's id: in logs, outcomes and Redis keys. */
export const processIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,128}$/, "must be 1-128 letters, digits, '.', '_' or '-'");
