/**
 * Session layer: TLS only, stream header and features, SASL PLAIN, restart, bind, session, ping,
 * keepalives, per-sender connection limit. Sources: reference 000/001/004 "Establishing a Connection"
 * and "Authentication"; ccs-facts.md "Transport and session"; CONTRACT.md "XMPP behaviour".
 */
import crypto from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { generate } from "selfsigned";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEMO_SENDER, startEmulator } from "../../src/index.ts";
import {
  SENDER_A,
  SENDER_B,
  startTestEmulator,
  type TestEmulator,
  uniqueName,
  waitUntil,
} from "../support/fixtures.ts";
import { AuthFailedError, GCM_DOMAIN, RawXmppClient, STREAM_HEADER } from "../support/raw-xmpp-client.ts";
import { NS } from "../support/xml.ts";

const FEATURES_SASL =
  '<str:features xmlns:str="http://etherx.jabber.org/streams">' +
  '<mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl">' +
  "<mechanism>X-OAUTH2</mechanism><mechanism>X-GOOGLE-TOKEN</mechanism><mechanism>PLAIN</mechanism>" +
  "</mechanisms></str:features>";
const FEATURES_BIND =
  '<stream:features><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/>' +
  '<session xmlns="urn:ietf:params:xml:ns:xmpp-session"/></stream:features>';
const SUCCESS = '<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>';
const AUTH_FAILURE = '<failure xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><not-authorized/></failure>';
const HEADER_RE =
  /^<stream:stream from="gcm\.googleapis\.com" id="[^"]+" version="1\.0" xmlns:stream="http:\/\/etherx\.jabber\.org\/streams" xmlns="jabber:client">$/;

let t: TestEmulator;

beforeAll(async () => {
  t = await startTestEmulator();
});
afterEach(async () => {
  await t.clients.closeAll();
});
afterAll(async () => {
  await t.stop();
});

describe("transport", () => {
  it("refuses plaintext XML on the TLS port: no XMPP answer, socket closed", async () => {
    const socket = net.connect({ host: t.emu.host, port: t.emu.port });
    const chunks: Buffer[] = [];
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", () => {
      // ECONNRESET is one acceptable way for the server to refuse; the close below is what is checked.
    });
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write(STREAM_HEADER);
    await waitUntil(
      () => socket.destroyed || socket.readableEnded,
      (v) => v,
      "the server to close a plaintext connection",
    );
    socket.destroy();
    const text = Buffer.concat(chunks).toString("latin1");
    expect(text).not.toContain("<stream");
    expect(text).not.toContain("features");
  });

  it("answers STARTTLS inside the TLS stream with the tls <failure/> and closes", async () => {
    const c = await t.clients.connect();
    await c.openStream();
    await c.send('<starttls xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>');
    const failure = await c.stanza((el) => el.local === "failure");
    expect(failure.raw).toBe('<failure xmlns="urn:ietf:params:xml:ns:xmpp-tls"/>');
    await c.next((i) => i.kind === "stream-close", 3_000, "</stream:stream>");
    await c.waitClosed();
    expect(
      c.receivedText().endsWith('<failure xmlns="urn:ietf:params:xml:ns:xmpp-tls"/></stream:stream>'),
    ).toBe(true);
  });

  it("serves a certificate valid for 127.0.0.1, localhost and gcm.googleapis.com", async () => {
    for (const servername of ["localhost", GCM_DOMAIN]) {
      const c = await RawXmppClient.connect(t.emu, { servername });
      expect(c.socket.authorized).toBe(true);
      c.destroy();
    }
    const c = await RawXmppClient.connect(t.emu);
    expect(c.socket.authorized).toBe(true);
    c.destroy();
  });

  it("accepts TLS 1.2 clients (CCS-era libraries) as well as TLS 1.3", async () => {
    for (const maxVersion of ["TLSv1.2", "TLSv1.3"] as const) {
      const socket = tls.connect({ host: t.emu.host, port: t.emu.port, ca: t.emu.caPem, maxVersion });
      const protocol = await new Promise<string | null>((resolve, reject) => {
        socket.once("secureConnect", () => resolve(socket.getProtocol()));
        socket.once("error", reject);
      });
      socket.destroy();
      expect(protocol).toBe(maxVersion);
    }
  });

  it("rejects a client that does not trust the emulator's certificate (it is not a public CA cert)", async () => {
    const err = await new Promise<Error | undefined>((resolve) => {
      const s = tls.connect({ host: t.emu.host, port: t.emu.port });
      s.once("secureConnect", () => {
        s.destroy();
        resolve(undefined);
      });
      s.once("error", (e) => resolve(e));
    });
    expect(err).toBeInstanceOf(Error);
  });
});

describe("stream header and SASL", () => {
  it("answers the stream header with from/id/version/namespaces and the exact SASL features", async () => {
    const c = await t.clients.connect();
    const { header, features } = await c.openStream();
    expect(header.raw).toMatch(HEADER_RE);
    expect(features.raw).toBe(FEATURES_SASL);
    const other = await t.clients.connect();
    const second = await other.openStream();
    expect(second.header.attrs.id).not.toBe(header.attrs.id);
  });

  it("accepts an XML declaration and a single-quoted stream header (xmpppy, the Python sample)", async () => {
    const c = await t.clients.connect();
    const { header, features } = await c.openStream(
      "<?xml version='1.0'?><stream:stream to='gcm.googleapis.com' version='1.0' xmlns='jabber:client' " +
        "xmlns:stream='http://etherx.jabber.org/streams'>",
    );
    expect(header.raw).toMatch(HEADER_RE);
    expect(features.raw).toBe(FEATURES_SASL);
    expect((await c.auth(SENDER_A)).raw).toBe(SUCCESS);
  });

  it("accepts PLAIN with ID@gcm.googleapis.com: <success xmlns=sasl/> byte for byte", async () => {
    const c = await t.clients.connect();
    await c.openStream();
    const result = await c.auth(SENDER_A);
    expect(result.raw).toBe(SUCCESS);
  });

  it("accepts PLAIN with the bare sender ID", async () => {
    const c = await t.clients.connect();
    await c.openStream();
    const result = await c.auth(SENDER_A, { bareId: true });
    expect(result.raw).toBe(SUCCESS);
  });

  it("refuses a wrong key with <failure><not-authorized/></failure></stream:stream> and closes; counts it", async () => {
    const before = (await t.admin.stats()).counters.authFailures;
    const c = await t.clients.connect();
    await c.openStream();
    const result = await c.auth({ senderId: SENDER_A.senderId, apiKey: "wrong-key" });
    expect(result.raw).toBe(AUTH_FAILURE);
    await c.next((i) => i.kind === "stream-close", 3_000, "</stream:stream>");
    await c.waitClosed();
    expect(c.receivedText().endsWith(`${AUTH_FAILURE}</stream:stream>`)).toBe(true);
    const after = (await t.admin.stats()).counters.authFailures;
    expect(after).toBe(before + 1);
  });

  it("refuses an unknown sender ID and another sender's key", async () => {
    for (const creds of [
      { senderId: "999999999999", apiKey: SENDER_A.apiKey },
      { senderId: SENDER_B.senderId, apiKey: SENDER_A.apiKey },
    ]) {
      const c = await t.clients.connect();
      await c.openStream();
      const result = await c.auth(creds);
      expect(result.raw).toBe(AUTH_FAILURE);
      await c.waitClosed();
    }
  });

  it("refuses a mechanism other than PLAIN", async () => {
    const c = await t.clients.connect();
    await c.openStream();
    await c.send(`<auth mechanism="X-OAUTH2" xmlns="urn:ietf:params:xml:ns:xmpp-sasl">AGFiYwBkZWY=</auth>`);
    const result = await c.stanza((el) => el.ns === NS.sasl);
    expect(result.raw).toBe(AUTH_FAILURE);
    await c.waitClosed();
  });

  it("refuses a malformed PLAIN payload with a SASL failure and closes", async () => {
    for (const payload of ["not base64 !!", Buffer.from("no-separators").toString("base64"), ""]) {
      const c = await t.clients.connect();
      await c.openStream();
      await c.send(`<auth mechanism="PLAIN" xmlns="urn:ietf:params:xml:ns:xmpp-sasl">${payload}</auth>`);
      const result = await c.stanza(
        (el) => el.ns === NS.sasl || (el.local === "error" && el.ns === NS.stream),
      );
      expect(result.el.local, `answer to payload ${JSON.stringify(payload)}: ${result.raw}`).toBe("failure");
      await c.waitClosed();
    }
  });

  it("never grants another sender through the PLAIN authzid", async () => {
    const c = await t.clients.connect();
    await c.openStream();
    const payload = Buffer.from(
      `${SENDER_B.senderId}@gcm.googleapis.com\u0000${SENDER_A.senderId}@gcm.googleapis.com\u0000${SENDER_A.apiKey}`,
    ).toString("base64");
    await c.send(`<auth mechanism="PLAIN" xmlns="urn:ietf:params:xml:ns:xmpp-sasl">${payload}</auth>`);
    const result = await c.stanza((el) => el.ns === NS.sasl);
    if (result.el.local === "success") {
      await c.openStream();
      const jid = await c.bind("authz");
      expect(jid).toBe(`${SENDER_A.senderId}@gcm.googleapis.com/authz`);
    } else {
      expect(result.raw).toBe(AUTH_FAILURE);
    }
  });

  it("refuses a domain other than gcm.googleapis.com in the PLAIN authcid", async () => {
    const c = await t.clients.connect();
    await c.openStream();
    const payload = Buffer.from(`\u0000${SENDER_A.senderId}@example.com\u0000${SENDER_A.apiKey}`).toString(
      "base64",
    );
    await c.send(`<auth mechanism="PLAIN" xmlns="urn:ietf:params:xml:ns:xmpp-sasl">${payload}</auth>`);
    const result = await c.stanza((el) => el.ns === NS.sasl);
    expect(result.raw).toBe(AUTH_FAILURE);
  });
});

describe("restart, bind, session, ping", () => {
  it("after <success/>, the restarted stream offers exactly <bind/> and <session/>", async () => {
    const c = await t.clients.connect();
    await c.openStream();
    expect((await c.auth(SENDER_A)).raw).toBe(SUCCESS);
    const { header, features } = await c.openStream();
    expect(header.raw).toMatch(HEADER_RE);
    expect(features.raw).toBe(FEATURES_BIND);
  });

  it("binds the requested resource: JID ID@gcm.googleapis.com/RESOURCE", async () => {
    const c = await t.clients.connect();
    await c.openStream();
    await c.auth(SENDER_A);
    await c.openStream();
    await c.send(
      '<iq type="set" id="b1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>conf-R1</resource></bind></iq>',
    );
    const result = await c.stanza((el) => el.local === "iq" && el.attrs.id === "b1");
    expect(result.el.attrs.type).toBe("result");
    expect(result.el.ns).toBe(NS.client);
    const bind = result.el.children[0];
    expect(bind?.local).toBe("bind");
    expect(bind?.ns).toBe(NS.bind);
    expect(bind?.children.map((x) => [x.local, x.text])).toEqual([
      ["jid", "123456789@gcm.googleapis.com/conf-R1"],
    ]);
  });

  it("escapes the bound resource in the JID it returns", async () => {
    const c = await t.clients.connect();
    await c.openStream();
    await c.auth(SENDER_A);
    await c.openStream();
    const jid = await c.bind(`r&d<1>"q"`);
    expect(jid).toBe(`123456789@gcm.googleapis.com/r&d<1>"q"`);
  });

  it("binds a random resource when none is requested", async () => {
    const c = await t.clients.connect();
    await c.openStream();
    await c.auth(SENDER_A, { bareId: true });
    await c.openStream();
    const jid = await c.bind();
    expect(jid).toMatch(/^123456789@gcm\.googleapis\.com\/\S+$/);
    const other = await t.clients.connect();
    await other.openStream();
    await other.auth(SENDER_A);
    await other.openStream();
    expect(await other.bind()).not.toBe(jid);
  });

  it("answers session with an empty result iq carrying the same id", async () => {
    const c = await t.clients.connect();
    await c.openStream();
    await c.auth(SENDER_A);
    await c.openStream();
    await c.bind(uniqueName("r"));
    await c.send('<iq type="set" id="sess-9"><session xmlns="urn:ietf:params:xml:ns:xmpp-session"/></iq>');
    const result = await c.stanza((el) => el.local === "iq" && el.attrs.id === "sess-9");
    expect(result.el.attrs.type).toBe("result");
    expect(result.el.children).toEqual([]);
  });

  it("answers XMPP ping with a result iq", async () => {
    const c = await t.clients.online(SENDER_A);
    await c.send('<iq type="get" id="png-1" to="gcm.googleapis.com"><ping xmlns="urn:xmpp:ping"/></iq>');
    const result = await c.stanza((el) => el.local === "iq" && el.attrs.id === "png-1");
    expect(result.el.attrs.type).toBe("result");
    expect(result.el.children).toEqual([]);
  });

  it("shows an online connection in /stats with sender, resource and remote address", async () => {
    const resource = uniqueName("stats");
    await t.clients.online(SENDER_A, resource);
    const conn = await waitUntil(
      () => t.admin.connectionByResource(resource),
      (x) => x.state === "online",
      "the connection to be online in /stats",
    );
    expect(conn.senderId).toBe(SENDER_A.senderId);
    expect(conn.pending).toBe(0);
    expect(conn.unackedUpstream).toBe(0);
    expect(conn.remoteAddress).toContain("127.0.0.1");
    expect(conn.id).toBeDefined();
  });

  it("answers a message before authentication with a <not-authorized/> stream error and closes", async () => {
    const c = await t.clients.connect();
    await c.openStream();
    await c.sendGcmText('{"to":"x","message_id":"early"}', { stanzaId: "early" });
    const err = await c.streamError();
    expect(err.el.children.map((x) => [x.local, x.ns])).toContainEqual(["not-authorized", NS.streams]);
    await c.waitClosed();
  });

  it("answers a message after auth but before bind with a <not-authorized/> stream error and closes", async () => {
    const c = await t.clients.connect();
    await c.openStream();
    await c.auth(SENDER_A);
    await c.openStream();
    await c.sendGcmText('{"to":"x","message_id":"early2"}', { stanzaId: "early2" });
    const err = await c.streamError();
    expect(err.el.children.map((x) => [x.local, x.ns])).toContainEqual(["not-authorized", NS.streams]);
    await c.waitClosed();
  });

  it("closes the stream when the client closes it", async () => {
    const c = await t.clients.online(SENDER_A);
    await c.send("</stream:stream>");
    await c.waitClosed();
  });
});

describe("client behaviour the server must tolerate", () => {
  it("accepts whitespace keepalives from the client between stanzas", async () => {
    const c = await t.clients.online();
    await c.send(" ");
    await c.send("\n  \n");
    expect((await c.ping()).el.attrs.type).toBe("result");
  });

  it("brings 20 concurrent logins of one sender online", async () => {
    const clients = await Promise.all(Array.from({ length: 20 }, () => t.clients.online()));
    const jids = new Set(clients.map((c) => c.jid));
    expect(jids.size).toBe(20);
    const pings = await Promise.all(clients.map((c) => c.ping()));
    expect(pings.every((p) => p.el.attrs.type === "result")).toBe(true);
  });
});

describe("defaults, keepalive, limits", () => {
  it("accepts DEMO_SENDER when no senders are configured", async () => {
    expect(DEMO_SENDER).toEqual({ senderId: "123456789012", apiKey: "demo-api-key-not-secret" });
    const emu = await startEmulator({ port: 0, adminPort: 0 });
    try {
      const c = await RawXmppClient.online(emu, DEMO_SENDER, { resource: "demo" });
      expect(c.jid).toBe("123456789012@gcm.googleapis.com/demo");
      await c.close();
      const senders = await (await fetch(`${emu.adminUrl}/senders`)).json();
      expect(senders).toEqual([{ senderId: "123456789012" }]);
    } finally {
      await emu.stop();
    }
  });

  it("listens on 127.0.0.1 by default and reports adminUrl as http://host:adminPort", () => {
    expect(t.emu.host).toBe("127.0.0.1");
    expect(t.emu.port).toBeGreaterThan(0);
    expect(t.emu.adminPort).toBeGreaterThan(0);
    expect(t.emu.adminUrl).toBe(`http://127.0.0.1:${t.emu.adminPort}`);
  });

  it("serves the certificate given in options.tls and reports it as caPem", async () => {
    const pems = await generate([{ name: "commonName", value: "localhost" }], {
      keyType: "ec",
      algorithm: "sha256",
      extensions: [
        { name: "basicConstraints", cA: true },
        {
          name: "subjectAltName",
          altNames: [
            { type: 2, value: "localhost" },
            { type: 7, ip: "127.0.0.1" },
          ],
        },
      ],
    });
    const emu = await startEmulator({
      port: 0,
      adminPort: 0,
      senders: [SENDER_A],
      tls: { certPem: pems.cert, keyPem: pems.private },
    });
    try {
      expect(emu.caPem.trim()).toBe(pems.cert.trim());
      const c = await RawXmppClient.online({ host: emu.host, port: emu.port, caPem: pems.cert }, SENDER_A);
      expect(c.socket.getPeerCertificate().fingerprint).toBe(
        new crypto.X509Certificate(pems.cert).fingerprint,
      );
      await c.close();
    } finally {
      await emu.stop();
    }
  });

  it("stop() closes every connection and both listeners", async () => {
    const emu = await startEmulator({ port: 0, adminPort: 0, senders: [SENDER_A] });
    const c = await RawXmppClient.online(emu, SENDER_A);
    await emu.stop();
    await c.waitClosed(3_000);
    const refused = (port: number): Promise<boolean> =>
      new Promise((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port });
        s.once("connect", () => {
          s.destroy();
          resolve(false);
        });
        s.once("error", () => resolve(true));
      });
    expect(await refused(emu.port)).toBe(true);
    expect(await refused(emu.adminPort)).toBe(true);
  });

  it("passes its log records to options.logger", async () => {
    const records: string[] = [];
    const record =
      (level: string) =>
      (..._args: unknown[]): void => {
        records.push(level);
      };
    const emu = await startEmulator({
      port: 0,
      adminPort: 0,
      senders: [SENDER_A],
      logger: { info: record("info"), warn: record("warn"), error: record("error"), debug: record("debug") },
    });
    try {
      const c = await RawXmppClient.online(emu, SENDER_A);
      await c.close();
      const bad = await RawXmppClient.connect(emu);
      await bad.openStream();
      await bad.auth({ senderId: SENDER_A.senderId, apiKey: "nope" });
      await bad.waitClosed();
      expect(records.length).toBeGreaterThan(0);
    } finally {
      await emu.stop();
    }
  });

  it("writes the certificate to certOut and exposes certPath", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ccs-conf-"));
    const certOut = join(dir, "ca.pem");
    const emu = await startEmulator({ port: 0, adminPort: 0, certOut });
    try {
      expect(emu.certPath).toBe(certOut);
      const pem = await readFile(certOut, "utf8");
      expect(pem).toContain("BEGIN CERTIFICATE");
      expect(pem.trim()).toBe(emu.caPem.trim());
    } finally {
      await emu.stop();
      await emu.stop(); // idempotent
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reports connecting, authenticated and online states in /stats as the handshake proceeds", async () => {
    const local = await startTestEmulator();
    try {
      const state = async (): Promise<string | undefined> =>
        (await local.admin.stats()).connections[0]?.state;
      const c = await local.clients.connect();
      await c.openStream();
      expect(await waitUntil(state, (s) => s !== undefined, "the connection in /stats")).toBe("connecting");
      expect((await c.auth(SENDER_A)).raw).toBe(SUCCESS);
      await waitUntil(state, (s) => s === "authenticated", "state authenticated after <success/>");
      await c.openStream();
      await c.bind("states");
      await c.session();
      await waitUntil(state, (s) => s === "online", "state online after bind and session");
      const conn = (await local.admin.stats()).connections[0];
      expect(conn?.resource).toBe("states");
      expect(conn?.senderId).toBe(SENDER_A.senderId);
      await c.close();
      await waitUntil(
        state,
        (s) => s === undefined || s === "closed",
        "the connection closed (or gone) in /stats",
      );
    } finally {
      await local.stop();
    }
  });

  it("sends single-space whitespace keepalives at the configured interval", async () => {
    const local = await startTestEmulator({ keepaliveIntervalMs: 100 });
    try {
      const c = await local.clients.online(SENDER_A);
      const started = Date.now();
      const first = await c.next((i) => i.kind === "whitespace", 3_000, "a keepalive");
      const second = await c.next((i) => i.kind === "whitespace", 3_000, "a second keepalive");
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(first.kind === "whitespace" ? first.raw : "").toBe(" ");
      expect(second.kind === "whitespace" ? second.raw : "").toBe(" ");
      // Keepalives are whitespace between stanzas: the session still answers.
      expect((await c.ping()).el.attrs.type).toBe("result");
    } finally {
      await local.stop();
    }
  });

  it("refuses connections over maxConnectionsPerSender with the SASL failure and counts them", async () => {
    const local = await startTestEmulator({ maxConnectionsPerSender: 2 });
    try {
      const first = await local.clients.online(SENDER_A);
      await local.clients.online(SENDER_A);
      const third = await local.clients.connect();
      await third.openStream();
      const result = await third.auth(SENDER_A);
      expect(result.raw).toBe(AUTH_FAILURE);
      await third.waitClosed();
      const stats = await local.admin.stats();
      expect(stats.counters.connectionLimitRefusals).toBe(1);
      expect(stats.bySender[SENDER_A.senderId]?.connectionLimitRefusals).toBe(1);
      // Another sender has its own budget.
      await local.clients.online(SENDER_B);
      // Once a connection of A is gone, A may connect again.
      await first.close();
      await waitUntil(
        async () => {
          const c = await local.clients.connect();
          try {
            await c.login(SENDER_A);
            return true;
          } catch (err) {
            c.destroy();
            if (err instanceof AuthFailedError) return false;
            throw err;
          }
        },
        (ok) => ok,
        "a new connection of sender A to be accepted after one closed",
      );
    } finally {
      await local.stop();
    }
  });
});
