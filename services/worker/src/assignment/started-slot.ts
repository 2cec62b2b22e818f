/**
 * A connection slot that was already started (opened by CoordinatedAssignment's prepare step,
 * make-before-break) handed to the pipeline, whose grant path calls start() once more: that call is a
 * no-op here; everything else goes to the slot itself.
 */
import type { CcsConnection, ConnectionSlot, SlotEvents } from "../connection/contract.ts";

export class StartedSlot implements ConnectionSlot {
  readonly #inner: ConnectionSlot;

  constructor(inner: ConnectionSlot) {
    this.#inner = inner;
  }

  get senderId(): string {
    return this.#inner.senderId;
  }

  get slotIndex(): number {
    return this.#inner.slotIndex;
  }

  connections(): readonly CcsConnection[] {
    return this.#inner.connections();
  }

  on<E extends keyof SlotEvents>(event: E, listener: SlotEvents[E]): this {
    this.#inner.on(event, listener);
    return this;
  }

  off<E extends keyof SlotEvents>(event: E, listener: SlotEvents[E]): this {
    this.#inner.off(event, listener);
    return this;
  }

  setSendGate(gate: () => boolean): void {
    this.#inner.setSendGate?.(gate);
  }

  start(): void {
    // Started when it was prepared.
  }

  close(graceMs: number): Promise<void> {
    return this.#inner.close(graceMs);
  }
}
