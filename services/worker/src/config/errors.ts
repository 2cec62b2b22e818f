/** The worker configuration is invalid: every problem found, one per line, each with its path. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options?: ErrorOptions) {
    super(`invalid worker configuration:\n  - ${problems.join("\n  - ")}`, options);
    this.name = "ConfigError";
    this.problems = problems;
  }
}
