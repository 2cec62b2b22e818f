import type { ServerHandle } from "@ccs/testkit";
import { jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  PubAckPublisher,
  PublisherClosedError,
  PublishRejectedError,
  PublishTimeoutError,
} from "../../src/pipeline/pub-ack-publisher.ts";
import { startTestNats } from "./support/harness.ts";

let nats: ServerHandle;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startTestNats();
  nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: "PUBACK",
    subjects: ["puback.>"],
    retention: RetentionPolicy.Limits,
    storage: StorageType.Memory,
  });
});
afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
});

describe("PubAckPublisher", () => {
  it("resolves with the stream's acknowledgement and reports duplicates", async () => {
    const pub = new PubAckPublisher(nc);
    const acks = await Promise.all([1, 2, 3].map((i) => pub.publish("puback.a", `m${i}`, `id-${i}`)));
    expect(acks.map((a) => a.stream)).toEqual(["PUBACK", "PUBACK", "PUBACK"]);
    expect(new Set(acks.map((a) => a.seq)).size).toBe(3);
    const dup = await pub.publish("puback.a", "again", "id-1");
    expect(dup).toMatchObject({ duplicate: true, seq: acks[0]?.seq });
    pub.close();
  });

  it("rejects when no stream takes the subject (503 no responders)", async () => {
    const pub = new PubAckPublisher(nc);
    const err = await pub.publish("nostream.a", "x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishRejectedError);
    expect((err as PublishRejectedError).code).toBe(503);
    pub.close();
  });

  it("rejects with a JetStream error code when the stream refuses (wrong expected stream)", async () => {
    const pub = new PubAckPublisher(nc);
    const { headers } = await import("@nats-io/transport-node");
    const h = headers();
    h.set("Nats-Expected-Stream", "OTHER");
    const err = await pub.publish("puback.b", "x", undefined, h).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishRejectedError);
    expect((err as PublishRejectedError).code).toBeGreaterThan(10000);
    pub.close();
  });

  it("times out without an answer and fails pending publishes on close", async () => {
    // A plain subscriber that never answers stands in for a stream that does not reply.
    const silent = nc.subscribe("silent.>");
    const pub = new PubAckPublisher(nc, 200);
    const err = await pub.publish("silent.a", "x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishTimeoutError);
    const pending = pub.publish("silent.b", "y").catch((e: unknown) => e);
    pub.close();
    expect(await pending).toBeInstanceOf(PublisherClosedError);
    await expect(pub.publish("puback.a", "z")).rejects.toBeInstanceOf(PublisherClosedError);
    silent.unsubscribe();
  });
});
