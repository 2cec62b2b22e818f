import { access, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, afterEach, describe, expect, test } from "vitest";
import { IllegalStateError, type ServerHandle, startNats, waitFor } from "../src/index.ts";
import { pidAlive, procState } from "./helpers.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.allSettled(cleanups.splice(0).map((fn) => fn()));
});

async function natsFixture(options: Parameters<typeof startNats>[0] = {}): Promise<ServerHandle> {
  const nats = await startNats({ mode: "local", ...options });
  cleanups.push(() => nats.dispose());
  return nats;
}

async function client(
  url: string,
  extra: Partial<Parameters<typeof connect>[0]> = {},
): Promise<NatsConnection> {
  const nc = await connect({ servers: url, ...extra });
  cleanups.unshift(() => nc.close());
  return nc;
}

describe("startNats (local)", () => {
  test("runs JetStream: a stream is created, a message published and consumed", async () => {
    const nats = await natsFixture();
    expect(nats.state).toBe("running");
    expect(nats.mode).toBe("local");
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`);
    const nc = await client(nats.url);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "ORDERS", subjects: ["orders.>"] });
    await jsm.consumers.add("ORDERS", { durable_name: "c1", ack_policy: AckPolicy.Explicit });
    const js = jetstream(nc);
    const ack = await js.publish("orders.new", "hello");
    expect(ack.seq).toBe(1);
    const consumer = await js.consumers.get("ORDERS", "c1");
    const msg = await consumer.next({ expires: 5_000 });
    expect(msg?.string()).toBe("hello");
    msg?.ack();
  });

  test("kill then start: same port, the stream persisted in the store dir, a reconnecting client continues", async () => {
    const nats = await natsFixture();
    const nc = await client(nats.url, {
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 50,
      reconnectJitter: 0,
    });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "EVENTS", subjects: ["events.>"] });
    const js = jetstream(nc);
    await js.publish("events.a", "before");
    const oldPid = nats.pid;
    expect(oldPid).toBeDefined();

    const reconnected = (async () => {
      for await (const status of nc.status()) {
        if (status.type === "reconnect") {
          return status;
        }
      }
      return undefined;
    })();
    await nats.kill();
    expect(nats.state).toBe("stopped");
    expect(nats.pid).toBeUndefined();
    await waitFor(() => oldPid !== undefined && !pidAlive(oldPid), {
      timeoutMs: 5_000,
      description: "old pid gone",
    });

    const port = nats.port;
    await nats.start();
    expect(nats.state).toBe("running");
    expect(nats.port).toBe(port);
    expect(nats.pid).not.toBe(oldPid);
    await expect(reconnected).resolves.toMatchObject({ type: "reconnect" });

    const info = await jsm.streams.info("EVENTS");
    expect(info.state.messages).toBe(1);
    const ack = await js.publish("events.b", "after");
    expect(ack.seq).toBe(2);
  });

  test("restart() uses a graceful stop and keeps the data; a given storeDir is reused and kept", async () => {
    const storeDir = await mkdtemp(join(tmpdir(), "ccs-testkit-store-"));
    cleanups.push(() => rm(storeDir, { recursive: true, force: true }));
    const nats = await natsFixture({ storeDir });
    expect(nats.dataDir).toBe(storeDir);
    let nc = await client(nats.url);
    await (await jetstreamManager(nc)).streams.add({ name: "KEEP", subjects: ["keep"] });
    await jetstream(nc).publish("keep", "x");
    await nc.close();
    await nats.restart();
    expect(nats.state).toBe("running");
    nc = await client(nats.url);
    expect((await (await jetstreamManager(nc)).streams.info("KEEP")).state.messages).toBe(1);
    await nc.close();
    await nats.dispose();
    // The caller's dir is not ours to delete.
    expect((await readdir(storeDir)).length).toBeGreaterThan(0);
  });

  test("pause freezes the server (SIGSTOP) and resume continues it", async () => {
    const nats = await natsFixture({ jetstream: false });
    const nc = await client(nats.url, { pingInterval: 60_000 });
    const sub = nc.subscribe("svc.echo", {
      callback: (_err, msg) => {
        msg.respond(msg.data);
      },
    });
    await nc.flush();
    const pid = nats.pid;
    if (pid === undefined) {
      throw new Error("no pid");
    }
    await nats.pause();
    expect(nats.state).toBe("paused");
    await waitFor(async () => (await procState(pid)) === "T", {
      timeoutMs: 2_000,
      description: "process stopped",
    });
    await expect(nc.request("svc.echo", "ping", { timeout: 300 })).rejects.toThrow();
    await expect(nats.start()).rejects.toBeInstanceOf(IllegalStateError);
    await nats.resume();
    expect(nats.state).toBe("running");
    const reply = await waitFor(() => nc.request("svc.echo", "ping", { timeout: 1_000 }), {
      timeoutMs: 10_000,
      description: "echo after resume",
    });
    expect(reply.string()).toBe("ping");
    sub.unsubscribe();
  });

  test("dispose kills the process and removes the temp store dir; idempotent; no use after dispose", async () => {
    const nats = await natsFixture();
    const pid = nats.pid;
    if (pid === undefined) {
      throw new Error("no pid");
    }
    const storeDir = nats.dataDir;
    if (storeDir === undefined) {
      throw new Error("no store dir");
    }
    // The handle reports the dir the server really uses.
    const argv = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0");
    expect(argv[argv.indexOf("-sd") + 1]).toBe(storeDir);
    await access(storeDir);
    await Promise.all([nats.dispose(), nats.dispose()]);
    expect(nats.state).toBe("disposed");
    expect(pidAlive(pid)).toBe(false);
    await expect(access(storeDir)).rejects.toMatchObject({ code: "ENOENT" });
    await nats.dispose();
    await expect(nats.start()).rejects.toBeInstanceOf(IllegalStateError);
  });

  test("a server that dies on its own is reported as stopped (with a warning) and can be started again", async () => {
    const warnings: string[] = [];
    const transitions: string[] = [];
    const logger = {
      debug: (obj: object) => transitions.push(String((obj as { to?: unknown }).to)),
      warn: (_obj: object, msg?: string) => warnings.push(msg ?? ""),
    };
    const nats = await natsFixture({ jetstream: false, logger });
    const pid = nats.pid;
    if (pid === undefined) {
      throw new Error("no pid");
    }
    process.kill(pid, "SIGKILL");
    await waitFor(() => nats.state === "stopped", {
      timeoutMs: 5_000,
      description: "state stopped after crash",
    });
    expect(warnings).toEqual(["server exited unexpectedly"]);
    await nats.start();
    expect(nats.state).toBe("running");
    // A deliberate kill is not reported as unexpected.
    await nats.kill();
    expect(warnings).toHaveLength(1);
    expect(transitions).toEqual(["running", "stopped", "running", "stopped"]);
  });
});

afterAll(async () => {
  await Promise.allSettled(cleanups.splice(0).map((fn) => fn()));
});
