/** A fixed assignment from config: every configured sender with its number of connections. */
import { EventEmitter } from "node:events";
import type { AssignmentEvents, AssignmentSource, SlotGrant } from "./assignment-source.ts";

export interface StaticSender {
  readonly senderId: string;
  readonly connections: number;
}

export class StaticAssignment implements AssignmentSource {
  readonly #emitter = new EventEmitter();
  readonly #grants: readonly SlotGrant[];
  #started = false;

  constructor(senders: readonly StaticSender[]) {
    this.#grants = senders.flatMap((s) =>
      Array.from({ length: s.connections }, (_, slotIndex) => ({ senderId: s.senderId, slotIndex })),
    );
  }

  current(): readonly SlotGrant[] {
    return this.#started ? this.#grants : [];
  }

  on<E extends keyof AssignmentEvents>(event: E, listener: AssignmentEvents[E]): this {
    this.#emitter.on(event, listener);
    return this;
  }

  off<E extends keyof AssignmentEvents>(event: E, listener: AssignmentEvents[E]): this {
    this.#emitter.off(event, listener);
    return this;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const grant of this.#grants) this.#emitter.emit("grant", grant);
  }

  async stop(): Promise<void> {
    this.#started = false;
  }
}
