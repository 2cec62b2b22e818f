import { ackStanza, gcmPayloadOf, StanzaReader } from "@ccs/ccs-protocol";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fastAckStanza } from "../../src/connection/fast-ack.ts";

function payloadOf(stanza: string): unknown {
  const reader = new StanzaReader();
  let json: string | undefined;
  reader.on("stanza", (el) => {
    json = gcmPayloadOf(el);
  });
  reader.write(
    `<stream:stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">${stanza}`,
  );
  if (json === undefined) throw new Error(`no payload in ${stanza}`);
  return JSON.parse(json);
}

describe("fastAckStanza", () => {
  it("builds the reference's ACK", () => {
    expect(fastAckStanza("REGID", "m-1", undefined)).toBe(
      '<message><gcm xmlns="google:mobile:data">{"from":"REGID","message_id":"m-1","message_type":"ack"}</gcm></message>',
    );
  });

  it("means the same as ackStanza for any from/message_id/registration_id (property)", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.option(fc.string(), { nil: undefined }), (from, id, reg) => {
        expect(payloadOf(fastAckStanza(from, id, reg))).toEqual(payloadOf(ackStanza(from, id, reg)));
      }),
      { numRuns: 300 },
    );
  });
});
