// Coordinated mode's fencing, against a real nats-server and the fake connection layer: outcomes carry
// the slot and its fencing token; once the fence no longer holds (lease ran out, e.g. after a SIGSTOP)
// the slot's connection neither pulls nor sends, and the work it was handed goes back to JetStream.
import { EventEmitter } from "node:events";
import type { ServerHandle } from "@ccs/testkit";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type {
  AssignmentEvents,
  AssignmentSource,
  SlotFence,
  SlotGrant,
} from "../../src/assignment/assignment-source.ts";
import { Metric } from "../../src/metrics.ts";
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

class OneGrant implements AssignmentSource {
  readonly #e = new EventEmitter();
  readonly #grant: SlotGrant;
  constructor(grant: SlotGrant) {
    this.#grant = grant;
  }
  current(): readonly SlotGrant[] {
    return [this.#grant];
  }
  on<E extends keyof AssignmentEvents>(event: E, l: AssignmentEvents[E]): this {
    this.#e.on(event, l);
    return this;
  }
  off<E extends keyof AssignmentEvents>(event: E, l: AssignmentEvents[E]): this {
    this.#e.off(event, l);
    return this;
  }
  start(): void {
    this.#e.emit("grant", this.#grant);
  }
  async stop(): Promise<void> {}
}

describe("fencing (coordinated mode)", () => {
  it("carries the fencing token on outcomes, and stops using a slot whose lease is no longer valid", async () => {
    let valid = true;
    const fence: SlotFence = { slot: "971:2", token: 7, isValid: () => valid };
    h = await Harness.start(nats.url, {
      senders: [{ senderId: "971", connections: 1 }],
      windowSize: 10,
      assignment: new OneGrant({ senderId: "971", slotIndex: 2, fence }),
    });
    const harness = h;
    await h.pipeline.settled();
    await h.waitFor(() => harness.ccs.online().length === 1, "the slot's connection online");
    await h.publishMany("971", 5, "f");
    await h.waitForOutcomes(5);
    expect(h.outcomes.every((o) => o.status === "acked" && o.fencing_token === 7 && o.slot === "971:2")).toBe(
      true,
    );
    expect(h.outcomeHeaders.every((x) => x["Ccs-Fencing-Token"] === "7" && x["Ccs-Slot"] === "971:2")).toBe(
      true,
    );

    valid = false; // the lease ran out (no I/O needed to notice)
    const sendsBefore = h.ccs.sends.length;
    await h.publishMany("971", 3, "late");
    await h.waitFor(() => harness.metrics.get(Metric.Fenced) >= 1, "the fence noticed");
    await h.waitFor(() => harness.metrics.get(Metric.HandedBack) >= 3, "the late messages handed back");
    expect(h.ccs.sends.length).toBe(sendsBefore);
    expect(h.outcomes.filter((o) => o.message_id.startsWith("late"))).toEqual([]);
  });

  it("still persists and ACKs upstream on a connection whose lease lapsed: coordinators de-duplicate it", async () => {
    let valid = true;
    const fence: SlotFence = { slot: "972:0", token: 3, isValid: () => valid };
    h = await Harness.start(nats.url, {
      senders: [{ senderId: "972", connections: 1 }],
      assignment: new OneGrant({ senderId: "972", slotIndex: 0, fence }),
    });
    const harness = h;
    await h.pipeline.settled();
    const conn = await h.waitFor(() => harness.ccs.online()[0], "the slot's connection online");
    valid = false; // the lease ran out; the connection is still open and CCS keeps sending on it
    conn.deliverUpstream({ messageId: "u-lapsed", from: "device-lapsed", category: "com.example" });
    // Refusing it would leave it un-ACKed on a live connection, which CCS never resends.
    await h.waitFor(() => harness.ccs.upstreamAcks.some((a) => a.messageId === "u-lapsed"), "the ACK");
    const stored = await h.jsm.streams.info(h.config.streams.upstream.name);
    expect(stored.state.messages).toBe(1);
    expect(h.ccs.upstreamAbandoned).toEqual([]);
  });
});
