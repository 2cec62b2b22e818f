import { beforeEach, describe, expect, it } from "vitest";
import { Stats } from "../../src/stats.ts";
import { type UpstreamItem, UpstreamRouter, type UpstreamTarget } from "../../src/upstream/router.ts";

const SENDER = "111";
let now = 0;
let stats: Stats;
let router: UpstreamRouter;

class FakeConn implements UpstreamTarget {
  readonly id: string;
  readonly senderId = SENDER;
  open = true;
  readonly got: string[] = [];
  constructor(id: string) {
    this.id = id;
  }
  acceptsUpstream(): boolean {
    return this.open;
  }
  writeUpstream(item: UpstreamItem): void {
    this.got.push(item.messageId);
  }
}

function item(messageId: string, ttlMs = 60_000, from = "device-1"): UpstreamItem {
  return {
    kind: "upstream",
    senderId: SENDER,
    from,
    messageId,
    json: "{}",
    expiresAt: now + ttlMs,
    sends: 0,
  };
}

beforeEach(() => {
  now = 0;
  stats = new Stats([SENDER]);
  router = new UpstreamRouter({ stats, clock: () => now, maxQueue: 5, maxUnacked: 2 });
});

describe("UpstreamRouter", () => {
  it("queues until a connection exists, then delivers to one connection, round robin", () => {
    router.enqueue(item("1"));
    const a = new FakeConn("a");
    const b = new FakeConn("b");
    router.attach(a);
    router.attach(b);
    router.enqueue(item("2"));
    router.enqueue(item("3"));
    expect(a.got.length + b.got.length).toBe(3);
    expect(new Set([...a.got, ...b.got])).toEqual(new Set(["1", "2", "3"]));
    expect(stats.global.upstreamDelivered).toBe(3);
  });

  it("stops sending to a connection with maxUnacked un-ACKed messages until it ACKs", () => {
    const a = new FakeConn("a");
    router.attach(a);
    for (const id of ["1", "2", "3"]) router.enqueue(item(id));
    expect(a.got).toEqual(["1", "2"]);
    expect(router.queued(SENDER)).toBe(1);
    expect(router.ack(a, "device-1", "1")).toBe("acked");
    expect(a.got).toEqual(["1", "2", "3"]);
    expect(router.unackedCount(a)).toBe(2);
  });

  it("counts ACKs on another connection as misrouted and does not accept them", () => {
    const a = new FakeConn("a");
    const b = new FakeConn("b");
    router.attach(a);
    router.enqueue(item("1"));
    router.attach(b);
    expect(router.ack(b, "device-1", "1")).toBe("misrouted");
    expect(router.unackedCount(a)).toBe(1);
    expect(router.ack(a, "device-1", "nope")).toBe("unknown");
    expect(stats.global.upstreamMisroutedAcks).toBe(1);
    expect(stats.global.upstreamUnknownAcks).toBe(1);
  });

  it("redelivers what was not ACKed on the next new connection, first, unless expired", () => {
    const a = new FakeConn("a");
    router.attach(a);
    router.enqueue(item("keep", 60_000));
    router.enqueue(item("expire", 1000));
    router.ack(a, "device-1", "nothing");
    now = 5000;
    router.enqueue(item("later"));
    router.detach(a); // "expire" expired with it; "later" never left the queue (a was full)
    expect(router.awaitingNewConnection(SENDER)).toBe(1);
    const b = new FakeConn("b");
    router.attach(b);
    expect(b.got).toEqual(["keep", "later"]);
    expect(router.awaitingNewConnection(SENDER)).toBe(0);
    expect(stats.global.upstreamRedeliveries).toBe(1);
    expect(stats.global.upstreamExpired).toBe(1);
  });

  it("resends only when a new connection is established, never on one that was already open", () => {
    router = new UpstreamRouter({ stats, clock: () => now, maxQueue: 10, maxUnacked: 10 });
    const old = new FakeConn("old");
    router.attach(old);
    router.enqueue(item("1"));
    expect(old.got).toEqual(["1"]);
    const a = new FakeConn("a");
    router.attach(a);
    router.detach(old);
    // a was open before old closed: it does not get "1", not even when more traffic flows through it.
    router.enqueue(item("2"));
    router.ack(a, "device-1", "2");
    router.enqueue(item("3"));
    expect(a.got).toEqual(["2", "3"]);
    expect(router.awaitingNewConnection(SENDER)).toBe(1);
    const replacement = new FakeConn("replacement");
    router.attach(replacement);
    expect(replacement.got).toEqual(["1"]);
    expect(a.got).toEqual(["2", "3"]);
  });

  it("a connection blocked by un-ACKed messages does not stall the sender: the others keep receiving", () => {
    const blocked = new FakeConn("blocked");
    const healthy = new FakeConn("healthy");
    router.attach(blocked);
    router.attach(healthy);
    const ids = ["1", "2", "3", "4", "5", "6", "7", "8"];
    for (const id of ids) {
      router.enqueue(item(id));
      // healthy ACKs everything at once; blocked never does.
      for (const got of healthy.got) router.ack(healthy, "device-1", got);
    }
    expect(blocked.got).toHaveLength(2);
    expect(router.unackedCount(blocked)).toBe(2);
    expect(healthy.got).toHaveLength(6);
    expect(router.queued(SENDER)).toBe(0);
  });

  it("what does not fit the new connection's room waits at the front of the queue", () => {
    const a = new FakeConn("a");
    router.attach(a);
    router.enqueue(item("1"));
    router.enqueue(item("2"));
    router.enqueue(item("3")); // a is full (maxUnacked 2): "3" waits
    router.detach(a);
    const b = new FakeConn("b");
    router.attach(b);
    expect(b.got).toEqual(["1", "2"]);
    router.ack(b, "device-1", "1");
    expect(b.got).toEqual(["1", "2", "3"]);
  });

  it("sends nothing to a connection that does not accept upstream (draining)", () => {
    const a = new FakeConn("a");
    a.open = false;
    router.attach(a);
    router.enqueue(item("1"));
    expect(a.got).toEqual([]);
    a.open = true;
    router.pump(SENDER);
    expect(a.got).toEqual(["1"]);
  });

  it("bounds the queue", () => {
    for (let i = 0; i < 6; i++) router.enqueue(item(String(i)));
    expect(router.queued(SENDER)).toBe(5);
    expect(stats.global.upstreamQueueFull).toBe(1);
  });

  it("keys ACKs by (from, message_id): device ids are only unique per device", () => {
    const a = new FakeConn("a");
    router = new UpstreamRouter({ stats, clock: () => now, maxQueue: 5, maxUnacked: 5 });
    router.attach(a);
    router.enqueue(item("1", 60_000, "device-1"));
    router.enqueue(item("1", 60_000, "device-2"));
    expect(router.ack(a, "device-2", "1")).toBe("acked");
    expect(router.unackedCount(a)).toBe(1);
  });
});
