// The status document served at GET /status. Built fresh from Redis on every request (any replica
// can answer, leader or not). API keys are never part of it: senders are shown through describeSender().

import {
  type Assignment,
  type AssignmentStore,
  describeSender,
  type LeaderLease,
  parseSlotId,
  type SenderConfig,
  type SlotStatusStore,
  slotsOf,
  type WorkerRegistry,
} from "@ccs/cluster";
import type { UpstreamCounters } from "./upstream-deduper.ts";

export interface StatusSources {
  readonly coordinatorId: string;
  readonly leader: LeaderLease;
  readonly registry: WorkerRegistry;
  readonly store: AssignmentStore;
  readonly slotStatus: SlotStatusStore;
  readonly senders: () => readonly SenderConfig[];
  readonly sendersError: () => Error | undefined;
  readonly upstream: () => UpstreamCounters & { readonly state: string };
  readonly unassigned: () => readonly string[];
}

export async function buildStatus(s: StatusSources): Promise<Record<string, unknown>> {
  const senders = s.senders();
  const slots = slotsOf(senders);
  const [workers, assignment, statuses] = await Promise.all([
    s.registry.list(),
    s.store.read().catch((): Assignment | undefined => undefined),
    s.slotStatus.read(slots),
  ]);
  const now = Date.now();
  const assignedCount = new Map<string, number>();
  for (const w of Object.values(assignment?.slots ?? {})) {
    assignedCount.set(w, (assignedCount.get(w) ?? 0) + 1);
  }
  let drains = 0;
  let pending = 0;
  const slotRows = slots.map((slot) => {
    const { senderId, index } = parseSlotId(slot);
    const st = statuses.get(slot);
    drains += st?.drains ?? 0;
    pending += st?.pending ?? 0;
    return {
      slot,
      senderId,
      index,
      assignedTo: assignment?.slots[slot] ?? null,
      owner: st?.workerId ?? null,
      fencingToken: st?.fencingToken ?? null,
      state: st?.state ?? "unknown",
      pending: st?.pending ?? 0,
      drains: st?.drains ?? 0,
      replacementFailures: st?.replacementFailures ?? 0,
      cannotReplace: st?.cannotReplace ?? false,
      sendRate: st?.sendRate ?? null,
      connections: st?.connections ?? [],
      reportedAgoMs: st === undefined ? null : now - st.updatedAt,
    };
  });
  const sendersError = s.sendersError();
  return {
    coordinatorId: s.coordinatorId,
    role: s.leader.isLeader() ? "leader" : "follower",
    leaderToken: s.leader.token ?? null,
    time: new Date(now).toISOString(),
    senders: senders.map((x) => ({
      ...describeSender(x),
      liveConnections: slotRows.filter((r) => r.senderId === x.senderId && r.state === "online").length,
    })),
    sendersReloadError: sendersError === undefined ? null : sendersError.message,
    workers: workers.map((w) => ({
      workerId: w.workerId,
      capacity: w.capacity,
      assigned: assignedCount.get(w.workerId) ?? 0,
      host: w.host,
      statusUrl: w.statusUrl,
      heartbeatAgoMs: now - w.heartbeatAt,
      startedAt: new Date(w.startedAt).toISOString(),
    })),
    assignment:
      assignment === undefined
        ? null
        : {
            leaderId: assignment.leaderId,
            fencingToken: assignment.token,
            version: assignment.version,
            writtenAt: new Date(assignment.writtenAt).toISOString(),
          },
    slots: slotRows,
    unassignedSlots: s.unassigned(),
    totals: { slots: slots.length, drains, pending },
    upstream: s.upstream(),
  };
}
