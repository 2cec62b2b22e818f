// XMPP-leg throughput: the worker's connection layer (4 connections, window 100 each) against a
// pipelined raw-TLS-socket client (4 connections, window 100 each), same emulator, same run, alternating.
// The emulator runs in its own process. Usage:
//   node bench/worker-xmpp-throughput.ts [messagesPerRound=200000] [rounds=3]
import { connect, type TLSSocket } from "node:tls";
import type { CcsConnection, SendResult } from "../services/worker/src/connection/index.ts";
import { createConnectionSlot } from "../services/worker/src/connection/index.ts";
import {
  DEMO_API_KEY,
  DEMO_SENDER_ID,
  type EmulatorProcess,
  median,
  startEmulatorProcess,
} from "./worker-xmpp-support.ts";

const CONNECTIONS = 4;
const WINDOW = 100;
const TOKENS = Array.from(
  { length: 64 },
  (_, i) => `bench-device-token-${String(i).padStart(4, "0")}-abcdefghijklmnop`,
);
const perRound = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 3);

// ---- raw TLS client: hand-written handshake, then pipelined writes and counting reads ----

function waitFor(socket: TLSSocket, marker: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (d: Buffer): void => {
      buf += d.toString("utf8");
      if (marker.test(buf)) {
        socket.off("data", onData);
        resolve(buf);
      }
    };
    socket.on("data", onData);
    socket.once("error", reject);
  });
}

const HEADER = `<stream:stream to="gcm.googleapis.com" version="1.0" xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">`;

async function rawConnect(emu: EmulatorProcess): Promise<TLSSocket> {
  const socket = connect({ host: emu.host, port: emu.port, ca: emu.caPem });
  await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
  socket.setNoDelay(true);
  let next = waitFor(socket, /features>/);
  socket.write(HEADER);
  await next;
  next = waitFor(socket, /<success|<failure/);
  const auth = Buffer.from(`\0${DEMO_SENDER_ID}@gcm.googleapis.com\0${DEMO_API_KEY}`).toString("base64");
  socket.write(`<auth mechanism="PLAIN" xmlns="urn:ietf:params:xml:ns:xmpp-sasl">${auth}</auth>`);
  if (!(await next).includes("<success")) throw new Error("raw client: auth refused");
  next = waitFor(socket, /features>/);
  socket.write(HEADER);
  await next;
  next = waitFor(socket, /<\/iq>|id="b1"[^>]*\/>/);
  socket.write(`<iq type="set" id="b1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></iq>`);
  await next;
  next = waitFor(socket, /id="s1"/);
  socket.write(`<iq type="set" id="s1"><session xmlns="urn:ietf:params:xml:ns:xmpp-session"/></iq>`);
  await next;
  return socket;
}

function rawMessage(id: string, token: string): string {
  return `<message id="${id}"><gcm xmlns="google:mobile:data">{"to":"${token}","message_id":"${id}","data":{"k":"v"}}</gcm></message>`;
}

async function rawRound(sockets: TLSSocket[], total: number, tag: string): Promise<number> {
  let sent = 0;
  let acked = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    for (const socket of sockets) {
      let carry = "";
      let pending = 0;
      const fill = (): void => {
        let out = "";
        while (pending < WINDOW && sent < total) {
          const n = sent++;
          out += rawMessage(`${tag}-${n}`, TOKENS[n % TOKENS.length] as string);
          pending++;
        }
        if (out.length > 0) socket.write(out);
      };
      socket.on("data", (d: Buffer) => {
        const text = carry + d.toString("utf8");
        const cut = text.lastIndexOf("</message>") + 10;
        carry = cut >= 10 ? text.slice(cut) : text;
        const done = cut >= 10 ? text.slice(0, cut) : "";
        let i = done.indexOf('"message_type":"ack"');
        let n = 0;
        while (i !== -1) {
          n++;
          i = done.indexOf('"message_type":"ack"', i + 20);
        }
        pending -= n;
        acked += n;
        if (acked >= total) resolve();
        else fill();
      });
      fill();
    }
  });
  const seconds = (performance.now() - start) / 1000;
  for (const s of sockets) s.removeAllListeners("data");
  return total / seconds;
}

// ---- the worker's connection layer ----

async function layerConnect(
  emu: EmulatorProcess,
): Promise<{ connections: CcsConnection[]; close(): Promise<void> }> {
  const slots = Array.from({ length: CONNECTIONS }, (_, slotIndex) =>
    createConnectionSlot({
      senderId: DEMO_SENDER_ID,
      apiKey: DEMO_API_KEY,
      slotIndex,
      upstream: () => undefined,
      service: { host: emu.host, port: emu.port, caPem: emu.caPem },
      windowSize: WINDOW,
    }),
  );
  const connections = await Promise.all(
    slots.map(
      (slot) =>
        new Promise<CcsConnection>((resolve) => {
          slot.on("connection", resolve);
          slot.start();
        }),
    ),
  );
  return { connections, close: async () => void (await Promise.all(slots.map((s) => s.close(1000)))) };
}

async function layerRound(connections: CcsConnection[], total: number, tag: string): Promise<number> {
  let sent = 0;
  let done = 0;
  let failures = 0;
  const start = performance.now();
  const pumps: Array<[CcsConnection, () => void]> = [];
  await new Promise<void>((resolve) => {
    const settle = (r: SendResult): void => {
      if (r.kind !== "ack") failures++;
      if (++done === total) resolve();
    };
    for (const c of connections) {
      const pump = (): void => {
        while (sent < total && c.room() > 0) {
          const n = sent++;
          c.send({
            to: TOKENS[n % TOKENS.length] as string,
            message_id: `${tag}-${n}`,
            data: { k: "v" },
          }).then(settle);
        }
      };
      c.on("room", pump);
      pumps.push([c, pump]);
      pump();
    }
  });
  const seconds = (performance.now() - start) / 1000;
  for (const [c, pump] of pumps) c.off("room", pump);
  if (failures > 0) throw new Error(`${failures} sends did not get an ACK`);
  return total / seconds;
}

const emu = await startEmulatorProcess();
try {
  const raw = await Promise.all(Array.from({ length: CONNECTIONS }, () => rawConnect(emu)));
  const layer = await layerConnect(emu);
  const layerRun = (total: number, tag: string): Promise<number> => layerRound(layer.connections, total, tag);
  await rawRound(raw, Math.min(20_000, perRound), "warm-raw");
  await layerRun(Math.min(20_000, perRound), "warm-layer");
  const rawRates: number[] = [];
  const layerRates: number[] = [];
  const rawCpu: number[] = [];
  const layerCpu: number[] = [];
  /** Client-process CPU time per message in µs (user + system): load-independent cost of each client. */
  const cpuPerMsg = async (run: () => Promise<number>, into: number[]): Promise<number> => {
    const before = process.cpuUsage();
    const rate = await run();
    const used = process.cpuUsage(before);
    into.push((used.user + used.system) / perRound);
    return rate;
  };
  for (let r = 0; r < rounds; r++) {
    rawRates.push(await cpuPerMsg(() => rawRound(raw, perRound, `raw${r}`), rawCpu));
    layerRates.push(await cpuPerMsg(() => layerRun(perRound, `layer${r}`), layerCpu));
    console.log(
      `round ${r + 1}: raw ${Math.round(rawRates[r] as number)} msgs/s (${(rawCpu[r] as number).toFixed(1)} µs CPU/msg), layer ${Math.round(layerRates[r] as number)} msgs/s (${(layerCpu[r] as number).toFixed(1)} µs CPU/msg), ratio ${((layerRates[r] as number) / (rawRates[r] as number)).toFixed(2)}`,
    );
  }
  const stats = await emu.stats();
  const rawMedian = median(rawRates);
  const layerMedian = median(layerRates);
  console.log(
    JSON.stringify({
      bench: "worker-xmpp-throughput",
      connections: CONNECTIONS,
      window: WINDOW,
      messagesPerRound: perRound,
      rounds,
      rawMsgsPerSec: Math.round(rawMedian),
      layerMsgsPerSec: Math.round(layerMedian),
      ratio: Number((layerMedian / rawMedian).toFixed(2)),
      ratioMedianOfRounds: Number(median(layerRates.map((l, i) => l / (rawRates[i] as number))).toFixed(2)),
      rawClientCpuUsPerMsg: Number(median(rawCpu).toFixed(1)),
      layerClientCpuUsPerMsg: Number(median(layerCpu).toFixed(1)),
      pendingViolations: stats.counters.pendingViolations,
    }),
  );
  for (const s of raw) s.destroy();
  await layer.close();
} finally {
  await emu.stop();
}
