import { describe, expect, it } from "vitest";
import {
  MalformedUpstreamError,
  parseUpstreamHeaders,
  UpstreamHeaders,
  upstreamDedupeDigest,
  upstreamMsgId,
} from "../src/index.ts";

const record = { kind: "upstream", senderId: "123", from: "device-token", messageId: "1" } as const;

function headers(values: Record<string, string>): (name: string) => string | undefined {
  return (name) => values[name];
}

describe("upstream records", () => {
  it("reads a record from its headers, optional ones absent when empty", () => {
    const r = parseUpstreamHeaders(
      headers({
        [UpstreamHeaders.kind]: "receipt",
        [UpstreamHeaders.senderId]: "123",
        [UpstreamHeaders.from]: "gcm.googleapis.com",
        [UpstreamHeaders.messageId]: "dr2:m1",
        [UpstreamHeaders.category]: "",
        [UpstreamHeaders.workerId]: "w1",
      }),
    );
    expect(r).toEqual({
      kind: "receipt",
      senderId: "123",
      from: "gcm.googleapis.com",
      messageId: "dr2:m1",
      category: undefined,
      receivedAt: undefined,
      workerId: "w1",
      connectionId: undefined,
    });
  });

  it("refuses a record without kind, a valid sender, from or message id", () => {
    const ok = {
      [UpstreamHeaders.kind]: "upstream",
      [UpstreamHeaders.senderId]: "123",
      [UpstreamHeaders.from]: "d",
      [UpstreamHeaders.messageId]: "1",
    };
    expect(() => parseUpstreamHeaders(headers(ok))).not.toThrow();
    for (const [name, value] of [
      [UpstreamHeaders.kind, "nack"],
      [UpstreamHeaders.senderId, "a.b"],
      [UpstreamHeaders.from, ""],
      [UpstreamHeaders.messageId, ""],
    ] as const) {
      expect(() => parseUpstreamHeaders(headers({ ...ok, [name]: value }))).toThrow(MalformedUpstreamError);
    }
  });

  it("derives the worker's Nats-Msg-Id and the coordinators' digest from (kind, sender, from, message_id)", () => {
    expect(upstreamMsgId(record)).toBe("123:upstream:device-token:1");
    const digest = upstreamDedupeDigest(record);
    expect(digest).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(upstreamDedupeDigest({ ...record })).toBe(digest);
    // Device message ids repeat across devices; kinds and senders are separate namespaces too.
    expect(upstreamDedupeDigest({ ...record, from: "other-device" })).not.toBe(digest);
    expect(upstreamDedupeDigest({ ...record, kind: "receipt" })).not.toBe(digest);
    expect(upstreamDedupeDigest({ ...record, senderId: "124" })).not.toBe(digest);
    // The separator keeps (a, bc) and (ab, c) apart.
    expect(upstreamDedupeDigest({ ...record, from: "a", messageId: "bc" })).not.toBe(
      upstreamDedupeDigest({ ...record, from: "ab", messageId: "c" }),
    );
  });
});
