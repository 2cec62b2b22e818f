/**
 * An independent XMPP library (@xmpp/client 0.14, as an app server would use it) against the emulator:
 * direct TLS (xmpps://), SASL PLAIN with the bare sender ID, bind, one downstream message and its ACK.
 */
import { client, type Element, xml } from "@xmpp/client";
import { afterAll, beforeAll, expect, it } from "vitest";
import { SENDER_A, startTestEmulator, type TestEmulator, token } from "../support/fixtures.ts";

let t: TestEmulator;

beforeAll(async () => {
  t = await startTestEmulator();
});
afterAll(async () => {
  await t.stop();
});

it("@xmpp/client authenticates, sends a downstream message and receives its ACK", async () => {
  const xmpp = client({
    service: `xmpps://127.0.0.1:${t.emu.port}`,
    domain: "gcm.googleapis.com",
    username: SENDER_A.senderId,
    password: SENDER_A.apiKey,
    resource: "xmppjs",
  });
  // Trust the emulator's certificate: @xmpp/tls hands these parameters to tls.connect.
  const base = xmpp.socketParameters.bind(xmpp);
  xmpp.socketParameters = (service: string) => ({ ...base(service), ca: t.emu.caPem });
  const errors: Error[] = [];
  xmpp.on("error", (err) => errors.push(err));
  const to = token();
  const ack = new Promise<Record<string, unknown>>((resolve) => {
    xmpp.on("stanza", (stanza: Element) => {
      const gcm = stanza.is("message") ? stanza.getChild("gcm", "google:mobile:data") : undefined;
      if (gcm === undefined) return;
      const json = JSON.parse(gcm.getText()) as Record<string, unknown>;
      if (json.message_id === "xj-1") resolve(json);
    });
  });
  try {
    const address = await xmpp.start();
    expect(address.toString()).toBe(`${SENDER_A.senderId}@gcm.googleapis.com/xmppjs`);
    await xmpp.send(
      xml(
        "message",
        { id: "xj-1" },
        xml(
          "gcm",
          { xmlns: "google:mobile:data" },
          JSON.stringify({ to, message_id: "xj-1", data: { hello: "world" } }),
        ),
      ),
    );
    const answer = await Promise.race([
      ack,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no ACK within 5 s")), 5_000)),
    ]);
    expect(answer).toEqual({ from: to, message_id: "xj-1", message_type: "ack" });
  } finally {
    xmpp.reconnect.stop();
    await xmpp.stop().catch(() => undefined);
  }
  expect(errors).toEqual([]);
});
