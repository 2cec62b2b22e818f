// Every problem of a configuration, reported at once: each with the path of the offending setting and
// where its value came from (a file, an environment variable or a flag). Messages never quote values.

export interface ConfigProblem {
  /** Dotted path in the service's config ("streams.down.replicas", "senders.0.apiKeyEnv"). */
  readonly path: string;
  readonly message: string;
  /** Where the value came from: an environment variable, a flag, or the config file's path. */
  readonly origin?: string;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[], options?: ErrorOptions) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${formatProblem(p)}`).join("\n")}`, options);
    this.problems = problems;
  }
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.path === "" ? "config" : p.path;
  return `${where}${p.origin === undefined ? "" : ` (${p.origin})`}: ${p.message}`;
}
