export type { ConfigProblem } from "./config-error.ts";
export { ConfigError, formatProblem } from "./config-error.ts";
export type { EnvBindings, EnvKind, EnvName } from "./env-vocabulary.ts";
export { ENV_VARS, envKind } from "./env-vocabulary.ts";
export type { LoadConfigOptions } from "./load-config.ts";
export { CONFIG_FILE_ENV, loadConfig, parseConfig } from "./load-config.ts";
export type { Env, RawSetting } from "./raw-settings.ts";
export { convert, envSettings, setAtPath } from "./raw-settings.ts";
export {
  DEFAULT_HTTP_HOST,
  DEFAULT_NATS_SERVERS,
  DEFAULT_REDIS_URLS,
  httpSchema,
  intSetting,
  natsAuthSchema,
  natsServersSchema,
  portSchema,
  processIdSchema,
  redisUrlsSchema,
  secretSchema,
} from "./schema-parts.ts";
export type { KeyContext, SenderConfig, SendersInput } from "./senders.ts";
export {
  describeSender,
  loadSendersFile,
  mergeSenders,
  sendersDiffer,
  sendersSchema,
} from "./senders.ts";
