/**
 * Where a worker learns which sender IDs to serve and with how many connections. Today a static
 * list from config; the coordinator (next issue) will grant and revoke slots at run time.
 */
export interface SlotGrant {
  readonly senderId: string;
  /** 0-based index of the connection slot within this worker's share of the sender. */
  readonly slotIndex: number;
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
