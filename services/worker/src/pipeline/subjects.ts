/** Subject and consumer names of the user contract (prefix configurable, default "ccs"). */
export interface Subjects {
  /** Producers publish downstream requests here. */
  down(senderId: string): string;
  /** The worker publishes exactly one outcome per request here. */
  outcome(senderId: string): string;
  /** Upstream messages and receipts, durable before the worker ACKs them to CCS. */
  upstream(senderId: string): string;
  readonly downWildcard: string;
  readonly outcomeWildcard: string;
  readonly upstreamWildcard: string;
}

export function subjects(prefix: string): Subjects {
  return {
    down: (senderId) => `${prefix}.down.${senderId}`,
    outcome: (senderId) => `${prefix}.out.${senderId}`,
    upstream: (senderId) => `${prefix}.internal.up.${senderId}`,
    downWildcard: `${prefix}.down.*`,
    outcomeWildcard: `${prefix}.out.*`,
    upstreamWildcard: `${prefix}.internal.up.*`,
  };
}

/** Durable consumer shared by all connections of one sender in all workers. */
export function consumerName(namePrefix: string, senderId: string): string {
  return `${namePrefix}-${senderId}`;
}
