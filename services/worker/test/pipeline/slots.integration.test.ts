import { EventEmitter } from "node:events";
import type { ServerHandle } from "@ccs/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type {
  AssignmentEvents,
  AssignmentSource,
  SlotGrant,
} from "../../src/assignment/assignment-source.ts";
import { Harness, startTestNats } from "./support/harness.ts";

let nats: ServerHandle;
let h: Harness | undefined;

beforeAll(async () => {
  nats = await startTestNats();
});
afterEach(async () => {
  await h?.close();
  h = undefined;
});
afterAll(async () => {
  await nats?.dispose();
});

/** An assignment source driven by the test (what the coordinator will be). */
class ManualAssignment implements AssignmentSource {
  readonly #e = new EventEmitter();
  readonly #grants = new Map<string, SlotGrant>();
  current(): readonly SlotGrant[] {
    return [...this.#grants.values()];
  }
  on<E extends keyof AssignmentEvents>(event: E, l: AssignmentEvents[E]): this {
    this.#e.on(event, l);
    return this;
  }
  off<E extends keyof AssignmentEvents>(event: E, l: AssignmentEvents[E]): this {
    this.#e.off(event, l);
    return this;
  }
  start(): void {}
  async stop(): Promise<void> {}
  grant(g: SlotGrant): void {
    this.#grants.set(`${g.senderId}#${g.slotIndex}`, g);
    this.#e.emit("grant", g);
  }
  revoke(g: SlotGrant): void {
    this.#grants.delete(`${g.senderId}#${g.slotIndex}`);
    this.#e.emit("revoke", g);
  }
}

const slowAck = () => new Promise<{ kind: "ack" }>((r) => setTimeout(() => r({ kind: "ack" }), 3));

describe("connections coming and going", () => {
  it("a draining connection gets no new sends; its replacement takes over; nothing is lost", async () => {
    h = await Harness.start(nats.url, {
      senders: [{ senderId: "801", connections: 1 }],
      windowSize: 10,
      script: slowAck,
    });
    const harness = h;
    await h.publishMany("801", 400, "d");
    await h.waitFor(() => harness.ccs.sends.length >= 50, "50 sends");
    const slot = h.ccs.slots[0];
    const { old, replacement } = slot?.drainCurrent() ?? {};
    const drainedAt = Date.now();
    await h.waitForOutcomes(400);
    const oldSends = h.ccs.sends.filter((s) => s.connectionId === old?.id);
    expect(oldSends.every((s) => s.at <= drainedAt)).toBe(true);
    expect(h.ccs.sends.filter((s) => s.connectionId === replacement?.id).length).toBeGreaterThan(0);
    expect(new Set(h.outcomes.map((o) => o.message_id)).size).toBe(400);
    expect(h.outcomes.every((o) => o.status === "acked")).toBe(true);
    expect(h.ccs.maxPendingSeen()).toBeLessThanOrEqual(10);
  });

  it("grants and revocations from an AssignmentSource open and close slots", async () => {
    const assignment = new ManualAssignment();
    h = await Harness.start(nats.url, {
      senders: [{ senderId: "802", connections: 1 }],
      windowSize: 10,
      script: slowAck,
      assignment,
    });
    const harness = h;
    assignment.grant({ senderId: "802", slotIndex: 0 });
    assignment.grant({ senderId: "802", slotIndex: 1 });
    await h.pipeline.settled();
    await h.waitFor(() => harness.ccs.online().length === 2, "two connections online");
    await h.publishMany("802", 200, "g");
    await h.waitForOutcomes(200);
    expect(new Set(h.ccs.sends.map((s) => s.slotIndex))).toEqual(new Set([0, 1]));
    assignment.revoke({ senderId: "802", slotIndex: 1 });
    await h.pipeline.settled();
    const revokedAt = Date.now();
    expect(h.ccs.slots[1]?.connections()).toHaveLength(0);
    await h.publishMany("802", 100, "g2");
    await h.waitForOutcomes(300);
    const afterRevoke = h.ccs.sends.filter((s) => s.at > revokedAt);
    expect(afterRevoke.length).toBeGreaterThan(0);
    expect(afterRevoke.every((s) => s.slotIndex === 0)).toBe(true);
  });
});
