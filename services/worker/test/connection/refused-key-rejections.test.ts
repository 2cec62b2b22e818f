// Regression: a CCS server refusing a key must never leave a promise rejection unhandled (Node 24 ends
// the process on one). xmpp.js's start() used to leave its "online" promise dangling when the server's
// stream header was read before the header write's callback: the SASL failure then rejected both
// open() and that promise, and nothing ever awaited the latter. The race is timing-dependent, hence the
// repetitions; closing mid-SASL and mid-connect covers the teardown paths too.
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type CcsConnectionSlot,
  createConnectionSlot,
  type SlotOptions,
} from "../../src/connection/index.ts";
import { type FakeCcsServer, makeCert, startFakeCcs, type TestCert } from "./support/fake-ccs-server.ts";
import { waitFor } from "./support/wait.ts";

const CONNECT_TIMEOUT_MS = 500;

let cert: TestCert;
beforeAll(() => {
  cert = makeCert();
});

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};
beforeEach(() => {
  unhandled.length = 0;
  process.on("unhandledRejection", onUnhandled);
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  process.off("unhandledRejection", onUnhandled);
});

async function server(): Promise<FakeCcsServer> {
  const s = await startFakeCcs({ cert });
  s.acceptKey = "the-real-key";
  cleanups.push(() => s.stop());
  return s;
}

function wrongKeySlot(s: FakeCcsServer, extra: Partial<SlotOptions> = {}): CcsConnectionSlot {
  const slot = createConnectionSlot({
    senderId: "123456789012",
    apiKey: "wrong-key",
    slotIndex: 0,
    upstream: () => undefined,
    service: { host: "127.0.0.1", port: s.port, caPem: s.caPem },
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    backoff: { initialMs: 1, maxMs: 5, jitter: 0 },
    ...extra,
  });
  cleanups.push(() => slot.close(0));
  return slot;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Lets late rejections (xmpp.js timeouts included) surface as unhandledRejection events. */
async function settle(): Promise<void> {
  await sleep(CONNECT_TIMEOUT_MS + 100);
}

function describeUnhandled(): string[] {
  return unhandled.map((r) => (r instanceof Error ? `${r.name}: ${r.message}` : String(r)));
}

describe("a refused key never leaves an unhandled rejection", () => {
  it("over many refused attempts in a row", async () => {
    const s = await server();
    const slot = wrongKeySlot(s);
    let failures = 0;
    slot.on("authFailed", () => failures++);
    slot.start();
    await waitFor(() => failures >= 15, { timeoutMs: 15_000, description: "15 auth failures" });
    await slot.close(0);
    await settle();
    expect(describeUnhandled()).toEqual([]);
  });

  it("when the slot is closed mid-SASL, before or as the failure arrives", async () => {
    const s = await server();
    s.authDelayMs = 20;
    for (let i = 0; i < 12; i++) {
      const slot = wrongKeySlot(s);
      const attempts = s.authAttempts;
      slot.start();
      await waitFor(() => s.authAttempts > attempts, { timeoutMs: 5000, description: "auth sent" });
      // 0–24 ms after the auth: before the failure is written, around it, or just after it.
      await sleep(i * 2);
      await slot.close(0);
    }
    await settle();
    expect(describeUnhandled()).toEqual([]);
  });

  it("when the slot is closed at any point while connecting", async () => {
    const s = await server();
    for (let i = 0; i < 12; i++) {
      const slot = wrongKeySlot(s);
      slot.start();
      await sleep(i * 3);
      await slot.close(0);
    }
    await settle();
    expect(describeUnhandled()).toEqual([]);
  });
});
