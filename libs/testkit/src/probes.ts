import { Socket } from "node:net";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

/** Per-attempt timeout of a readiness probe; `waitFor` retries until its own deadline. */
export const PROBE_TIMEOUT_MS = 1_000;

/**
 * Ready when a real NATS client connects and, with JetStream, `getAccountInfo()` answers.
 * Throws (so `waitFor` records the reason) when not ready yet.
 */
export async function probeNats(url: string, jetstream: boolean): Promise<true> {
  const nc = await connect({
    servers: url,
    timeout: PROBE_TIMEOUT_MS,
    reconnect: false,
    name: "ccs-testkit-probe",
  });
  try {
    if (jetstream) {
      const jsm = await jetstreamManager(nc, { timeout: PROBE_TIMEOUT_MS, checkAPI: false });
      await jsm.getAccountInfo();
    } else {
      await nc.flush();
    }
    return true;
  } finally {
    await nc.close();
  }
}

/** Ready when a raw RESP `PING` gets `+PONG` (a server still loading answers `-LOADING`). */
export function probeRedis(host: string, port: number): Promise<true> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let reply = "";
    const fail = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => fail(new Error(`no PING reply from ${host}:${port}`)));
    socket.once("error", fail);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      reply += chunk;
      const end = reply.indexOf("\r\n");
      if (end === -1) {
        return;
      }
      const line = reply.slice(0, end);
      socket.destroy();
      if (line === "+PONG") {
        resolve(true);
      } else {
        reject(new Error(`unexpected PING reply from ${host}:${port}: ${line}`));
      }
    });
    socket.connect(port, host, () => socket.write("*1\r\n$4\r\nPING\r\n"));
  });
}
