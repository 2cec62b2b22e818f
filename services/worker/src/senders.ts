/**
 * The worker's senders (API keys) through @ccs/cluster's SendersSource, the coordinator's
 * implementation: CCS_SENDERS_FILE (hot reloaded) merged with the senders given inline
 * (CCS_SENDERS / the config file, validated by parseWorkerConfig).
 */
import { type SenderConfig as ClusterSender, SendersSource } from "@ccs/cluster";
import type { Logger } from "@ccs/telemetry";
import type { WorkerConfig } from "./config/worker-config.ts";

export type { ClusterSender };

export function createSendersSource(
  config: Pick<WorkerConfig, "senders" | "sendersFile">,
  env: NodeJS.ProcessEnv,
  logger: Logger,
): SendersSource {
  const inline: ClusterSender[] = config.senders.map((s) => ({
    senderId: s.senderId,
    apiKey: s.apiKey,
    connections: s.connections,
    rate: undefined,
    apiKeySource: "inline",
  }));
  return new SendersSource({
    ...(config.sendersFile === undefined ? {} : { file: config.sendersFile }),
    inline,
    env,
    logger,
  });
}
