// Provisioning against a real nats-server (JetStream): several processes may provision at once, a stream
// with settings that cannot change in place is a clear error, the owner updates what may change.
import { silentLogger } from "@ccs/telemetry";
import { type ServerHandle, startNats } from "@ccs/testkit";
import { type JetStreamManager, jetstreamManager, RetentionPolicy } from "@nats-io/jetstream";
import { connect, type NatsConnection, nanos } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createSubjects,
  desiredStream,
  ensureDurableConsumer,
  ensureStream,
  ProvisioningError,
  type StreamSettings,
} from "../src/index.ts";

const settings: StreamSettings = { storage: "memory", replicas: 1, duplicateWindowMs: 60_000, maxAgeMs: 0 };
let nats: ServerHandle;
let nc: NatsConnection;
let jsm: JetStreamManager;
let n = 0;

beforeAll(async () => {
  nats = await startNats({ mode: "local" });
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
});
afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
});

function fresh() {
  n++;
  return createSubjects(`prov${n}`);
}

describe("ensureStream / ensureDurableConsumer", () => {
  it("several processes provisioning the same stream at once, even with different settings, all succeed", async () => {
    const s = fresh();
    const same = desiredStream("down", s, settings);
    const other = desiredStream("down", s, { ...settings, maxAgeMs: 60_000 });
    // JetStream answers an identical concurrent add with success; a different one with "name already in
    // use", which ensureStream turns into a look-up and (owner) an update instead of an error.
    await Promise.all(
      [same, other, same, other, same, other].map((want) =>
        ensureStream(jsm, want, { update: true, logger: silentLogger }),
      ),
    );
    const info = await jsm.streams.info(s.downStream);
    expect(info.config.subjects).toEqual([s.downAll]);
    expect(info.config.retention).toBe(RetentionPolicy.Workqueue);
    expect([0, nanos(60_000)]).toContain(info.config.max_age);
    // Once provisioned, provisioning again changes nothing.
    const settled = info.config.max_age === 0 ? same : other;
    expect(await ensureStream(jsm, settled, { update: true, logger: silentLogger })).toBe("unchanged");
  });

  it("the owner updates what may change; a non-owner leaves it; another retention is a ProvisioningError", async () => {
    const s = fresh();
    await ensureStream(jsm, desiredStream("outcomes", s, settings), { update: true, logger: silentLogger });
    const longer = desiredStream("outcomes", s, { ...settings, maxAgeMs: 3_600_000 });
    expect(await ensureStream(jsm, longer, { update: false, logger: silentLogger })).toBe("unchanged");
    expect((await jsm.streams.info(s.outStream)).config.max_age).toBe(0);
    expect(await ensureStream(jsm, longer, { update: true, logger: silentLogger })).toBe("updated");
    expect((await jsm.streams.info(s.outStream)).config.max_age).toBe(nanos(3_600_000));
    // A non-owner does not mind the owner's storage choice (a worker may keep a stream in memory).
    const asFile = desiredStream("outcomes", s, { ...settings, storage: "file" });
    expect(await ensureStream(jsm, asFile, { update: false, logger: silentLogger })).toBe("unchanged");
    // The same name asked as a work queue (e.g. a misconfigured stream name) is refused with a reason.
    const asWorkQueue = { ...desiredStream("down", s, settings), name: s.outStream };
    await expect(ensureStream(jsm, asWorkQueue, { update: true, logger: silentLogger })).rejects.toThrow(
      ProvisioningError,
    );
  });

  it("durable consumers: concurrent creation is fine, ack wait and max ack pending follow the spec", async () => {
    const s = fresh();
    await ensureStream(jsm, desiredStream("down", s, settings), { update: true, logger: silentLogger });
    const spec = {
      stream: s.downStream,
      name: s.senderConsumer("42"),
      filterSubject: s.down("42"),
      ackWaitMs: 30_000,
      maxAckPending: 100,
    };
    await Promise.all([ensureDurableConsumer(jsm, spec), ensureDurableConsumer(jsm, spec)]);
    await ensureDurableConsumer(jsm, { ...spec, ackWaitMs: 5_000 });
    const c = (await jsm.consumers.info(s.downStream, spec.name)).config;
    expect([c.filter_subject, c.ack_wait, c.max_ack_pending, c.max_deliver]).toEqual([
      s.down("42"),
      nanos(5_000),
      100,
      -1,
    ]);
  });
});
