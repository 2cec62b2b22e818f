/**
 * What the parts of one sender's dispatcher share: the messages it holds (as Held / WorkItem), its
 * lanes, the queue of unsent work any lane may send, the in-flight counters and the lifecycle state.
 */
import type { DownstreamRequest } from "@ccs/ccs-protocol";
import type { Logger } from "@ccs/telemetry";
import type { JsMsg } from "@nats-io/jetstream";
import type { SlotFence } from "../assignment/assignment-source.ts";
import type { CcsConnection, ConnectionSlot, ConnectionState } from "../connection/contract.ts";
import { IdleWaiters } from "./idle-waiters.ts";
import type { PullFeed } from "./pull-feed.ts";
import type { RetryReason } from "./retry-policy.ts";
import type { DispatcherState, SenderDispatcherOptions } from "./sender-dispatcher.ts";

/**
 * Lifecycle of a held message: queued (ready to send) <-> waiting (retry delay or device cool-down)
 * -> sending -> back to queued/waiting (retry) or publishing (outcome, then ack). Hand-back (nak)
 * can end it from any state but publishing.
 */
export type ItemState = "queued" | "waiting" | "sending" | "publishing";

/** A JetStream message this dispatcher holds (not yet acked or handed back). */
export interface Held {
  readonly msg: JsMsg;
  state: ItemState;
  /** Last delivery or working() signal to JetStream. */
  touchedAt: number;
}

/** A held message that is to be sent to CCS. */
export interface WorkItem extends Held {
  readonly messageId: string;
  readonly to: string;
  readonly request: DownstreamRequest;
  readonly ttlSeconds: number;
  readonly publishedAtMs: number;
  readonly deliveries: number;
  attempts: number;
  readonly retries: Partial<Record<RetryReason, number>>;
  firstSentAt?: number;
  connectionId?: string;
  /** Fence of the lane that fetched or last sent it (coordinated mode). */
  fence?: SlotFence;
  /** Same-connection retry target. */
  pinned?: Lane;
  /** Connection the next send must avoid (draining / lost). */
  avoid?: string;
  timer?: NodeJS.Timeout;
  queuedAt: number;
}

/** One online connection of the sender, with its own pulls on the sender's durable consumer. */
export interface Lane {
  readonly conn: CcsConnection;
  readonly slot: ConnectionSlot;
  /** Coordinated mode: the slot's ownership; checked before every pull and send. */
  readonly fence: SlotFence | undefined;
  readonly feed: PullFeed;
  /** Free room in its window from which a pull is worth it (a refill threshold of the window). */
  readonly refillAt: number;
  /** Pinned items (same-connection retries) ready to go on this lane. */
  readonly ready: WorkItem[];
  /** Unsent items that only this lane may send (pinned), waiting or in `ready`. */
  pinnedUnsent: number;
  /** Lifecycle: active (sends and pulls) -> inactive (retired: its open pulls run out) -> dropped. */
  active: boolean;
  readonly listeners: {
    readonly room: () => void;
    readonly state: (state: ConnectionState) => void;
  };
}

/** The item no longer waits for one lane only. */
export function unpin(item: WorkItem): void {
  if (item.pinned !== undefined) {
    item.pinned.pinnedUnsent--;
    item.pinned = undefined;
  }
}

export class DispatchState {
  readonly senderId: string;
  readonly options: SenderDispatcherOptions;
  readonly log: Logger;
  readonly now: () => number;
  readonly random: () => number;
  /** Lifecycle: running -> stopping (no pulls, hand back unsent) -> stopped. */
  lifecycle: DispatcherState = "running";
  /** Unsent items any lane may send (except `avoid`). */
  readonly anyQueue: WorkItem[] = [];
  /** Held items not sent yet: queued, waiting, or pinned (they count against the pull budget). */
  unsent = 0;
  /** Sends in flight. */
  sending = 0;
  /** Shutdown waits, woken when sends or held messages settle. */
  readonly idle: IdleWaiters;

  constructor(options: SenderDispatcherOptions) {
    this.senderId = options.senderId;
    this.options = options;
    this.log = options.logger.child({ senderId: options.senderId });
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.idle = new IdleWaiters(this.now);
  }
}
