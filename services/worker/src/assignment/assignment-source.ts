/**
 * Where a worker learns which sender IDs to serve and with how many connections: a static list from
 * config (StaticAssignment), or the coordinator's grants and revocations (CoordinatedAssignment).
 */

/**
 * Ownership of a coordinated slot: checked (cheap, local, monotonic clock) before every fetch and
 * send, and carried on everything published for the slot.
 */
export interface SlotFence {
  /** Cluster slot id `<senderId>:<index>`. */
  readonly slot: string;
  readonly token: number;
  /** False as soon as the slot's lease may have run out (also after a SIGSTOP past its TTL). */
  isValid(): boolean;
}

export interface SlotGrant {
  readonly senderId: string;
  /**
   * 0-based index of the connection slot: within this worker's share of the sender (static mode),
   * or the sender-global slot index of the cluster (coordinated mode).
   */
  readonly slotIndex: number;
  /** Coordinated mode: the lease that makes this worker the slot's owner. */
  readonly fence?: SlotFence;
}

export interface AssignmentEvents {
  grant: (grant: SlotGrant) => void;
  revoke: (grant: SlotGrant) => void;
}

export interface AssignmentSource {
  /** Grants currently held. */
  current(): readonly SlotGrant[];
  on<E extends keyof AssignmentEvents>(event: E, listener: AssignmentEvents[E]): this;
  off<E extends keyof AssignmentEvents>(event: E, listener: AssignmentEvents[E]): this;
  /** Starts emitting (a static source emits all its grants here). */
  start(): void;
  /** Stops emitting; grants are not revoked (shutdown closes slots itself). */
  stop(): Promise<void>;
}

export function grantKey(grant: SlotGrant): string {
  return `${grant.senderId}#${grant.slotIndex}`;
}
