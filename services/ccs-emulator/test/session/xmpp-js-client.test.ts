/**
 * An independent XMPP implementation (@xmpp/client 0.14) against the emulator: direct TLS, SASL PLAIN,
 * bind, then downstream messages ACKed. (Types: the ambient declaration in test/support/xmpp-client.d.ts.)
 */
import { client, type Element, xml } from "@xmpp/client";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEMO_SENDER, type RunningEmulator, startEmulator } from "../../src/index.ts";

let emu: RunningEmulator;

beforeAll(async () => {
  emu = await startEmulator({ port: 0, adminPort: 0, seed: 3 });
});
afterAll(async () => {
  await emu.stop();
});

it("connects, authenticates, binds, sends downstream messages and gets their ACKs", async () => {
  const xmpp = client({
    service: `xmpps://127.0.0.1:${emu.port}`,
    domain: "gcm.googleapis.com",
    username: DEMO_SENDER.senderId,
    password: DEMO_SENDER.apiKey,
    resource: "xmppjs",
  });
  xmpp.reconnect.stop();
  const base = xmpp.socketParameters.bind(xmpp);
  xmpp.socketParameters = (service: string) => ({ ...base(service), ca: emu.caPem, servername: "localhost" });
  const errors: Error[] = [];
  xmpp.on("error", (err) => errors.push(err));
  const answers = new Map<string, Record<string, unknown>>();
  let wake: () => void = () => {};
  xmpp.on("stanza", (stanza: Element) => {
    const gcm = stanza.getChild("gcm", "google:mobile:data");
    if (stanza.is("message") && gcm !== undefined) {
      const json = JSON.parse(gcm.getText()) as Record<string, unknown>;
      answers.set(String(json.message_id), json);
      wake();
    }
  });

  const jid = await xmpp.start();
  try {
    expect(jid.toString()).toBe(`${DEMO_SENDER.senderId}@gcm.googleapis.com/xmppjs`);
    const token = "xmppjsdevice:APA91bClientTest";
    const ids = ["x-1", "x-2", "x-3"];
    for (const id of ids) {
      await xmpp.send(
        xml(
          "message",
          { id },
          xml(
            "gcm",
            { xmlns: "google:mobile:data" },
            JSON.stringify({ to: token, message_id: id, data: { n: id } }),
          ),
        ),
      );
    }
    const deadline = Date.now() + 5000;
    while (ids.some((id) => !answers.has(id)) && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    for (const id of ids)
      expect(answers.get(id)).toEqual({ from: token, message_id: id, message_type: "ack" });
    expect(emu.control.device(token)?.ledger.map((e) => e.messageId)).toEqual(ids);
    expect(errors).toEqual([]);
  } finally {
    await xmpp.stop();
  }
});
