import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { waitFor } from "@ccs/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  describeSender,
  loadSendersFile,
  parseSenders,
  type SenderConfig,
  SendersConfigError,
  SendersSource,
} from "../src/index.ts";

const KEY = "AIzaSy-super-secret-key-123";

describe("senders configuration", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "ccs-senders-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads keys from inline values, files and environment variables without ever printing them", async () => {
    await writeFile(join(dir, "key2.txt"), `${KEY}-file\n`);
    const file = join(dir, "senders.json");
    await writeFile(
      file,
      JSON.stringify({
        senders: [
          { senderId: "1", apiKey: KEY, connections: 2 },
          { senderId: "2", apiKeyFile: "key2.txt", connections: 3, rate: 100 },
          { senderId: "3", apiKeyEnv: "TEST_KEY_3" },
        ],
      }),
    );
    const senders = await loadSendersFile(file, { env: { TEST_KEY_3: `${KEY}-env` } });
    expect(senders.map((s) => [s.senderId, s.connections, s.rate])).toEqual([
      ["1", 2, undefined],
      ["2", 3, 100],
      ["3", 1, undefined],
    ]);
    expect(senders.map((s) => s.apiKey.reveal())).toEqual([KEY, `${KEY}-file`, `${KEY}-env`]);
    const printed = [
      JSON.stringify(senders),
      inspect(senders, { depth: 10 }),
      String(senders[0]?.apiKey),
      JSON.stringify(senders.map(describeSender)),
    ];
    for (const text of printed) {
      expect(text).not.toContain(KEY);
    }
  });

  it("rejects bad entries with the place of the error", async () => {
    await expect(parseSenders({ senders: [{ senderId: "1" }] }, "x")).rejects.toBeInstanceOf(
      SendersConfigError,
    );
    await expect(
      parseSenders({ senders: [{ senderId: "1", apiKey: "k", apiKeyEnv: "E" }] }, "x"),
    ).rejects.toThrow(/exactly one/);
    await expect(parseSenders({ senders: [{ senderId: "a b", apiKey: "k" }] }, "x")).rejects.toThrow(
      /senderId/,
    );
    await expect(
      parseSenders({ senders: [{ senderId: "1", apiKey: "k", connections: -1 }] }, "x"),
    ).rejects.toThrow(/connections/);
    await expect(
      parseSenders(
        {
          senders: [
            { senderId: "1", apiKey: "k" },
            { senderId: "1", apiKey: "j" },
          ],
        },
        "x",
      ),
    ).rejects.toThrow(/duplicate/);
    await expect(
      parseSenders({ senders: [{ senderId: "1", apiKeyEnv: "NOPE" }] }, "x", { env: {} }),
    ).rejects.toThrow(/NOPE/);
  });

  it("hot-reloads: adds and removes senders; an invalid file keeps the last good list", async () => {
    const file = join(dir, "senders.json");
    const write = async (senders: unknown): Promise<void> => {
      // Atomic replace, as config managers do.
      await writeFile(`${file}.tmp`, JSON.stringify(senders));
      await rename(`${file}.tmp`, file);
    };
    await write({ senders: [{ senderId: "1", apiKey: KEY }] });
    const source = new SendersSource({ file, reloadIntervalMs: 5_000 });
    const changes: string[][] = [];
    source.on("change", (s: readonly SenderConfig[]) => changes.push(s.map((x) => x.senderId)));
    expect((await source.start()).map((s) => s.senderId)).toEqual(["1"]);
    await write({
      senders: [
        { senderId: "1", apiKey: KEY },
        { senderId: "2", apiKey: KEY, connections: 2 },
      ],
    });
    await waitFor(() => changes.length === 1, { timeoutMs: 3_000, description: "sender added" });
    expect(changes[0]).toEqual(["1", "2"]);
    await writeFile(file, "{ not json");
    await waitFor(() => source.lastError !== undefined, {
      timeoutMs: 3_000,
      description: "invalid file reported",
    });
    expect(source.current().map((s) => s.senderId)).toEqual(["1", "2"]);
    await write({ senders: [{ senderId: "2", apiKey: KEY, connections: 2 }] });
    await waitFor(() => changes.length === 2, { timeoutMs: 3_000, description: "sender removed" });
    expect(changes[1]).toEqual(["2"]);
    expect(source.lastError).toBeUndefined();
    await source.close();
    await source.close();
  });
});
