/**
 * A slot's connection health as the coordinator wants it (drain signals): state, pending answers,
 * drains seen, consecutive failed replacement attempts, and whether the worker cannot replace the
 * slot's connection (at capacity, or attempts keep failing) so the slot should move elsewhere.
 */
import type { SlotConnectionState, SlotHealth } from "@ccs/cluster";
import type { ConnectionSlot } from "../connection/contract.ts";

/** Connection slots that count their connection attempts (the connection layer's CcsConnectionSlot does). */
interface AttemptCounter {
  readonly attempts: number;
}

function attemptsOf(slot: ConnectionSlot): number | undefined {
  const n = (slot as Partial<AttemptCounter>).attempts;
  return typeof n === "number" ? n : undefined;
}

export class SlotHealthTracker {
  readonly #slot: ConnectionSlot;
  readonly #failureLimit: number;
  #drains = 0;
  #attemptsAtOnline: number;
  readonly #onDraining = (): void => {
    this.#drains++;
    this.onDrain?.();
  };
  readonly #onConnection = (): void => {
    this.#attemptsAtOnline = attemptsOf(this.#slot) ?? 0;
  };
  /** Called on every drain (the owner reports at once rather than at the next interval). */
  onDrain: (() => void) | undefined;

  constructor(slot: ConnectionSlot, replacementFailureLimit: number) {
    this.#slot = slot;
    this.#failureLimit = replacementFailureLimit;
    this.#attemptsAtOnline = attemptsOf(slot) ?? 0;
    slot.on("draining", this.#onDraining);
    slot.on("connection", this.#onConnection);
  }

  get drains(): number {
    return this.#drains;
  }

  /** `overCapacity`: the worker holds more connections than its capacity (a replacement cannot be afforded). */
  health(overCapacity: boolean): SlotHealth {
    const conns = this.#slot.connections();
    const online = conns.some((c) => c.state === "online");
    const draining = conns.some((c) => c.state === "draining");
    const opening = conns.some((c) => c.state === "connecting" || c.state === "authenticating");
    let state: SlotConnectionState;
    if (online) state = "online";
    else if (draining && opening) state = "replacing";
    else if (draining) state = "draining";
    else if (opening) state = "connecting";
    else state = "down";
    const attempts = attemptsOf(this.#slot);
    // The attempt in progress does not count as failed yet.
    const replacementFailures =
      online || attempts === undefined
        ? 0
        : Math.max(0, attempts - this.#attemptsAtOnline - (opening ? 1 : 0));
    const cannotReplace =
      replacementFailures >= this.#failureLimit ||
      ((state === "draining" || state === "replacing") && overCapacity);
    return {
      state,
      pending: conns.reduce((n, c) => n + c.pending, 0),
      drains: this.#drains,
      replacementFailures,
      cannotReplace,
      connections: conns.map((c) => ({ id: c.id, state: c.state, pending: c.pending })),
    };
  }

  /** Idempotent. */
  stop(): void {
    this.#slot.off("draining", this.#onDraining);
    this.#slot.off("connection", this.#onConnection);
    this.onDrain = undefined;
  }
}
