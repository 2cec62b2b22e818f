import { RedisNodes } from "@ccs/cluster";
import { createSubjects, type Subjects, UpstreamHeaders, upstreamDedupeDigest } from "@ccs/contract";
import { type Infrastructure, startInfrastructure, waitFor } from "@ccs/testkit";
import { headers } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DedupeStore } from "../src/dedupe-store.ts";
import { ensureUpstreamStreams } from "../src/streams.ts";
import { UpstreamDeduper } from "../src/upstream-deduper.ts";
import {
  countOnSubject,
  freshKeys,
  logger,
  type NatsClient,
  natsClient,
  publishInternal,
} from "./support.ts";

const ACK_WAIT_MS = 1_000;

describe("upstream de-duplication (real NATS + Redis)", () => {
  let infra: Infrastructure;
  const clients: NatsClient[] = [];
  const redis: RedisNodes[] = [];
  let prefixN = 0;

  beforeAll(async () => {
    infra = await startInfrastructure({ redisNodes: 1, mode: "local" });
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.nc.close()));
    await Promise.allSettled(redis.map((r) => r.close()));
    await infra?.dispose();
  });

  /** A fresh subject prefix (so fresh streams) per test. */
  async function setup(): Promise<{ subjects: Subjects; client: NatsClient; prefix: string }> {
    prefixN++;
    const prefix = `t${prefixN}`;
    const subjects = createSubjects(prefix);
    const client = await natsClient(infra.nats.url);
    clients.push(client);
    await ensureUpstreamStreams(
      client.jsm,
      subjects,
      {
        replicas: 1,
        publishDuplicateWindowMs: 60_000,
        publishedMaxAgeMs: 0,
        ackWaitMs: ACK_WAIT_MS,
        maxAckPending: 1_000,
      },
      logger,
    );
    return { subjects, client, prefix };
  }

  async function coordinator(
    subjects: Subjects,
    keys: ReturnType<typeof freshKeys>,
    ensure?: () => Promise<void>,
  ): Promise<UpstreamDeduper> {
    const client = await natsClient(infra.nats.url);
    clients.push(client);
    const nodes = new RedisNodes({ urls: infra.redis.map((r) => r.url) });
    redis.push(nodes);
    const d = new UpstreamDeduper({
      js: client.js,
      subjects,
      dedupe: new DedupeStore({ nodes, keys, windowMs: 3_600_000 }),
      maxInFlight: 32,
      retryDelayMs: 100,
      logger,
      ...(ensure !== undefined ? { ensure } : {}),
    });
    await d.start();
    return d;
  }

  async function drained(client: NatsClient, subjects: Subjects): Promise<void> {
    await waitFor(
      async () => {
        const info = await client.jsm.consumers.info(subjects.internalUpStream, subjects.upstreamConsumer);
        return info.num_pending === 0 && info.num_ack_pending === 0;
      },
      { timeoutMs: 15_000, description: "internal upstream consumed and acked" },
    );
  }

  it("publishes one copy per (sender, token, message_id) from two coordinators receiving N copies", async () => {
    const { subjects, client, prefix } = await setup();
    const keys = freshKeys();
    const [a, b] = await Promise.all([coordinator(subjects, keys), coordinator(subjects, keys)]);
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 8; i++) {
      // The same device message delivered 8 times, a second device reusing the same message id, and a receipt.
      sends.push(
        publishInternal(client.js, prefix, {
          kind: "upstream",
          senderId: "42",
          from: "tokA",
          messageId: "m-1",
          category: "com.example.app",
        }),
      );
      sends.push(
        publishInternal(client.js, prefix, {
          kind: "upstream",
          senderId: "42",
          from: "tokB",
          messageId: "m-1",
          category: "com.example.app",
        }),
      );
      sends.push(
        publishInternal(client.js, prefix, {
          kind: "receipt",
          senderId: "42",
          from: "gcm.googleapis.com",
          messageId: "dr2:m-9",
        }),
      );
    }
    await Promise.all(sends);
    await drained(client, subjects);
    expect(await countOnSubject(client.jsm, subjects.upStream, subjects.up("42", "com.example.app"))).toBe(2);
    expect(await countOnSubject(client.jsm, subjects.receiptStream, subjects.receipt("42"))).toBe(1);
    const total = a.counters().received + b.counters().received;
    expect(total).toBe(24);
    expect(a.counters().published + b.counters().published).toBe(3);
    // The published copy carries the payload and metadata, keyed by the de-duplication digest.
    const m = await client.jsm.streams.getMessage(subjects.upStream, {
      last_by_subj: subjects.up("42", "com.example.app"),
    });
    expect(m?.header.get(UpstreamHeaders.msgId)).toBe(m?.header.get(UpstreamHeaders.dedupeKey));
    expect(m?.header.get(UpstreamHeaders.senderId)).toBe("42");
    await Promise.all([a.close(), b.close()]);
    await a.close();
  });

  it("a consumer that publishes and dies before acking still yields one copy", async () => {
    const { subjects, client, prefix } = await setup();
    const keys = freshKeys();
    await publishInternal(client.js, prefix, {
      kind: "upstream",
      senderId: "7",
      from: "tok",
      messageId: "x1",
      category: "c",
    });
    await publishInternal(client.js, prefix, {
      kind: "upstream",
      senderId: "7",
      from: "tok",
      messageId: "x2",
      category: "c",
    });
    // The "crashing" coordinators: take both messages, publish them downstream, one also writes Redis, none acks.
    const crasher = await natsClient(infra.nats.url);
    const consumer = await crasher.js.consumers.get(subjects.internalUpStream, subjects.upstreamConsumer);
    const batch = await consumer.fetch({ max_messages: 2, expires: 2_000 });
    const nodes = new RedisNodes({ urls: infra.redis.map((r) => r.url) });
    redis.push(nodes);
    const store = new DedupeStore({ nodes, keys, windowMs: 3_600_000 });
    let n = 0;
    for await (const m of batch) {
      const digest = upstreamDedupeDigest({
        kind: "upstream",
        senderId: "7",
        from: "tok",
        messageId: m.headers?.get(UpstreamHeaders.messageId) ?? "",
      });
      const h = headers();
      await crasher.js.publish(subjects.up("7", "c"), m.data, { msgID: digest, headers: h });
      if (n === 1) await store.markPublished(digest); // crashed after the Redis write, before the ack
      n++;
    }
    expect(n).toBe(2);
    await crasher.nc.close(); // dies: no ack
    const survivor = await coordinator(subjects, keys);
    await drained(client, subjects);
    expect(await countOnSubject(client.jsm, subjects.upStream, subjects.up("7", "c"))).toBe(2);
    const c = survivor.counters();
    expect(c.streamDuplicates + c.duplicates).toBe(2);
    await survivor.close();
  });

  it("drops a malformed internal message without blocking the stream", async () => {
    const { subjects, client, prefix } = await setup();
    const d = await coordinator(subjects, freshKeys());
    await client.js.publish(`${prefix}.internal.up.1`, "{}");
    await publishInternal(client.js, prefix, {
      kind: "receipt",
      senderId: "1",
      from: "gcm.googleapis.com",
      messageId: "dr2:1",
    });
    await drained(client, subjects);
    expect(d.counters().malformed).toBe(1);
    expect(await countOnSubject(client.jsm, subjects.receiptStream, subjects.receipt("1"))).toBe(1);
    await d.close();
  });

  it("re-creates its consumer when it is deleted and keeps going", async () => {
    const { subjects, client, prefix } = await setup();
    const ensure = (): Promise<void> =>
      ensureUpstreamStreams(
        client.jsm,
        subjects,
        {
          replicas: 1,
          publishDuplicateWindowMs: 60_000,
          publishedMaxAgeMs: 0,
          ackWaitMs: ACK_WAIT_MS,
          maxAckPending: 1_000,
        },
        logger,
      );
    const d = await coordinator(subjects, freshKeys(), ensure);
    await client.jsm.consumers.delete(subjects.internalUpStream, subjects.upstreamConsumer);
    // Seen either as the "recovering" state or, if that passed between two polls, as a re-created consumer.
    await waitFor(
      async () =>
        d.state === "running" &&
        (await client.jsm.consumers.info(subjects.internalUpStream, subjects.upstreamConsumer).then(
          () => true,
          () => false,
        )),
      { timeoutMs: 20_000, description: "deduper re-created its consumer" },
    );
    await publishInternal(client.js, prefix, {
      kind: "receipt",
      senderId: "3",
      from: "gcm.googleapis.com",
      messageId: "dr2:r",
    });
    await drained(client, subjects);
    expect(await countOnSubject(client.jsm, subjects.receiptStream, subjects.receipt("3"))).toBe(1);
    await d.close();
    expect(d.state).toBe("closed");
  });
});
