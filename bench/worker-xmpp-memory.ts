// XMPP-leg memory: N idle, authenticated connections of the worker's connection layer in one process
// (the emulator in another). Reports the heap per connection: (heapUsed after − before) / N, both after
// global.gc(). Bar: at most 64 KiB per connection. Usage:
//   node --expose-gc bench/worker-xmpp-memory.ts [connections=1000]
import type { CcsConnection } from "../services/worker/src/connection/index.ts";
import { type CcsConnectionSlot, createConnectionSlot } from "../services/worker/src/connection/index.ts";
import { DEMO_API_KEY, DEMO_SENDER_ID, startEmulatorProcess } from "./worker-xmpp-support.ts";

const N = Number(process.argv[2] ?? 1000);
const BATCH = 50;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");

function settleHeap(): number {
  for (let i = 0; i < 4; i++) gc?.();
  return process.memoryUsage().heapUsed;
}

const emu = await startEmulatorProcess({ maxConnectionsPerSender: N + 10 });
const slots: CcsConnectionSlot[] = [];
try {
  // Warm up: one connection through the whole path so module-level state and JIT code are in the baseline.
  const warm = createConnectionSlot({
    senderId: DEMO_SENDER_ID,
    apiKey: DEMO_API_KEY,
    slotIndex: 0,
    upstream: () => undefined,
    service: { host: emu.host, port: emu.port, caPem: emu.caPem },
  });
  await new Promise<CcsConnection>((resolve) => {
    warm.on("connection", resolve);
    warm.start();
  });
  await warm.close(0);
  await new Promise((r) => setTimeout(r, 200));
  const before = settleHeap();
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, N - i) }, (_, k) => {
      const slot = createConnectionSlot({
        senderId: DEMO_SENDER_ID,
        apiKey: DEMO_API_KEY,
        slotIndex: i + k,
        upstream: () => undefined,
        service: { host: emu.host, port: emu.port, caPem: emu.caPem },
      });
      slots.push(slot);
      return new Promise<CcsConnection>((resolve) => {
        slot.on("connection", resolve);
        slot.start();
      });
    });
    await Promise.all(batch);
  }
  const connectSeconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 500));
  const after = settleHeap();
  const mem = process.memoryUsage();
  const online = slots.filter((s) => s.connections()[0]?.state === "online").length;
  console.log(
    JSON.stringify({
      bench: "worker-xmpp-memory",
      connections: N,
      online,
      heapPerConnectionKiB: Number(((after - before) / N / 1024).toFixed(1)),
      rssPerConnectionKiB: Number(((mem.rss - rssBefore) / N / 1024).toFixed(1)),
      externalMiB: Number((mem.external / 1024 / 1024).toFixed(1)),
      connectSeconds: Number(connectSeconds.toFixed(1)),
    }),
  );
} finally {
  await Promise.all(slots.map((s) => s.close(0)));
  await emu.stop();
}
