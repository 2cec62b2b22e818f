// Fails when an @xmpp/client upgrade changes the private internals src/connection/xmpp-client-adapter.ts
// relies on (see its header). Checked against @xmpp/client 0.14.0 (all @xmpp/* packages 0.14.0;
// services/worker/package.json range ^0.14.0). If this fails after an upgrade, re-check every hook of
// the adapter against the new xmpp.js source before changing anything here.
import { EventEmitter, once } from "node:events";
import { TLSSocket } from "node:tls";
import { client, type XmlElement, type XmppClient, type XmppParser, xml } from "@xmpp/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { XmppClientListener } from "../../src/connection/xmpp-client-adapter.ts";
import { createXmppClient } from "../../src/connection/xmpp-client-adapter.ts";
import { type FakeCcsServer, makeCert, startFakeCcs } from "./support/fake-ccs-server.ts";
import { waitFor } from "./support/wait.ts";

const DOMAIN = "gcm.googleapis.com";
const NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session";

function newClient(service: string, mechanismsSeen: string[][] = []): XmppClient {
  return client({
    service,
    domain: DOMAIN,
    timeout: 5_000,
    credentials: async (authenticate, mechanisms) => {
      mechanismsSeen.push(mechanisms);
      await authenticate({ username: `123@${DOMAIN}`, password: "key" }, "PLAIN");
    },
  });
}

describe("@xmpp/client internals, on a fresh client (no network)", () => {
  it("has the private methods the adapter replaces", () => {
    const xmpp = newClient("xmpps://127.0.0.1:5236");
    expect(typeof xmpp._onData).toBe("function");
    expect(xmpp._onData.length).toBe(1);
    expect(typeof xmpp._onElement).toBe("function");
    expect(xmpp._onElement.length).toBe(1);
    expect(typeof xmpp.socketParameters).toBe("function");
  });

  it("has reconnect.stop(), which removes xmpp.js's reconnect-on-disconnect listener", () => {
    const xmpp = newClient("xmpps://127.0.0.1:5236");
    expect(typeof xmpp.reconnect.stop).toBe("function");
    const before = xmpp.listenerCount("disconnect");
    expect(before).toBeGreaterThan(0);
    xmpp.reconnect.stop();
    expect(xmpp.listenerCount("disconnect")).toBe(before - 1);
  });

  it("has iqCaller.set, connect and open; socket, parser and jid are null until connected", () => {
    const xmpp = newClient("xmpps://127.0.0.1:5236");
    expect(typeof xmpp.iqCaller.set).toBe("function");
    expect(typeof xmpp.connect).toBe("function");
    expect(typeof xmpp.open).toBe("function");
    expect(xmpp.socket).toBeNull();
    expect(xmpp.parser).toBeNull();
    expect(xmpp.jid).toBeNull();
    expect(xmpp.status).toBe("offline");
  });
});

describe("@xmpp/client internals, on a client connected to a fake CCS server", () => {
  let server: FakeCcsServer;
  beforeAll(async () => {
    server = await startFakeCcs({ cert: makeCert() });
  });
  afterAll(async () => {
    await server.stop();
  });

  it("binds the _onData, _onElement and socketParameters overrides installed before connect", async () => {
    const uri = `xmpps://127.0.0.1:${server.port}`;
    const mechanisms: string[][] = [];
    const xmpp = newClient(uri, mechanisms);
    xmpp.reconnect.stop();
    const params: unknown[] = [];
    const data: unknown[] = [];
    const elements: XmlElement[] = [];
    const statuses: string[] = [];
    let tlsAtConnect: unknown;
    const socketParameters = xmpp.socketParameters.bind(xmpp);
    xmpp.socketParameters = (service) => {
      const p = socketParameters(service);
      params.push(p);
      // The test server's self-signed certificate: connecting at all proves this result is used.
      return { ...p, ca: server.caPem };
    };
    const onData = xmpp._onData;
    xmpp._onData = (chunk) => {
      data.push(chunk);
      onData.call(xmpp, chunk);
    };
    const onElement = xmpp._onElement;
    xmpp._onElement = (el) => {
      elements.push(el);
      onElement.call(xmpp, el);
    };
    xmpp.on("status", (status: string) => {
      statuses.push(status);
      if (status === "connect") tlsAtConnect = xmpp.socket?.socket;
    });
    try {
      await xmpp.connect(uri);
      await Promise.all([once(xmpp, "online"), xmpp.open({ domain: DOMAIN })]);

      expect(params).toEqual([{ port: server.port, host: "127.0.0.1" }]);
      expect(mechanisms[0]).toContain("PLAIN");
      expect(statuses).toContain("connect");
      expect(tlsAtConnect).toBeInstanceOf(TLSSocket);
      expect(xmpp.socket?.socket).toBe(tlsAtConnect);
      expect(data.length).toBeGreaterThan(0);
      for (const chunk of data) expect(Buffer.isBuffer(chunk)).toBe(true);
      const names = elements.map((el) => el.getName());
      expect(names).toEqual(expect.arrayContaining(["features", "success", "iq"]));
      const features = elements.find((el) => el.name === "stream:features");
      expect(features?.getChild("session", NS_SESSION)).toBeDefined();
      expect(elements.find((el) => el.name === "success")?.getNS()).toBe("urn:ietf:params:xml:ns:xmpp-sasl");
      expect(xmpp.jid?.toString()).toMatch(/^x@gcm\.googleapis\.com\/r\d+$/);

      // iqCaller.set(element, to, timeout) sends an iq set and resolves on its result.
      await xmpp.iqCaller.set(xml("session", { xmlns: NS_SESSION }), undefined, 5_000);
      const conn = server.connections.at(-1);
      expect(conn?.received.some((s) => s.includes(`<session xmlns="${NS_SESSION}"/>`))).toBe(true);

      // The parser the adapter writes to and whose "text" listener it replaces.
      const parser = xmpp.parser as XmppParser;
      expect(parser).not.toBeNull();
      expect(typeof parser.write).toBe("function");
      expect(parser.parser).toBeInstanceOf(EventEmitter);
      expect(parser.parser.listenerCount("text")).toBe(1);
      expect(parser.root?.name).toBe("stream:stream");
      expect(parser.cursor).toBe(parser.root);
      // xmpp.js appends text read under <stream:stream> to the root (what the adapter stops).
      const rootChildren = parser.root?.children.length ?? 0;
      parser.parser.emit("text", " ");
      expect(parser.root?.children.length).toBe(rootChildren + 1);
      // ltx reports whitespace between stanzas as a "text" event while the cursor is the stream root.
      const ParserClass = parser.constructor as new () => XmppParser;
      const fresh = new ParserClass();
      const texts: Array<{ text: string; atRoot: boolean }> = [];
      fresh.parser.on("text", (text: string) => texts.push({ text, atRoot: fresh.cursor === fresh.root }));
      fresh.write(`<stream:stream xmlns:stream="http://etherx.jabber.org/streams"> <a/>`);
      expect(texts).toEqual([{ text: " ", atRoot: true }]);
    } finally {
      xmpp.socket?.socket?.destroy();
    }
  });
});

describe("the adapter on the installed @xmpp/client", () => {
  let server: FakeCcsServer;
  beforeAll(async () => {
    server = await startFakeCcs({ cert: makeCert() });
  });
  afterAll(async () => {
    await server.stop();
  });

  it("sets up the stream; gcm messages come through the fast path, other elements through the element hook", async () => {
    const gcm: string[] = [];
    const elements: string[] = [];
    const statuses: string[] = [];
    let closed = false;
    const listener: XmppClientListener = {
      gcm: (json) => gcm.push(json),
      element: (el) => {
        elements.push(el.getName());
        return false;
      },
      isClosed: () => closed,
      unreadable: (err) => {
        throw err;
      },
      error: () => undefined,
      status: (status) => statuses.push(status),
    };
    const xmpp = createXmppClient(
      {
        service: { host: "127.0.0.1", port: server.port, rejectUnauthorized: true, caPem: server.caPem },
        domain: DOMAIN,
        connectTimeoutMs: 5_000,
        senderId: "123",
        apiKey: { reveal: () => "key" },
      },
      listener,
    );
    try {
      await xmpp.start();
      await xmpp.establishSession(5_000);
      expect(xmpp.tlsSocket).toBeInstanceOf(TLSSocket);
      expect(xmpp.jid).toMatch(/^x@gcm\.googleapis\.com\/r\d+$/);
      expect(elements).toEqual(expect.arrayContaining(["features", "success", "iq"]));
      xmpp.ignoreStreamText();
      const conn = server.connections.at(-1);
      conn?.ack("m1");
      conn?.send(`<iq type="result" id="x"/>`);
      await waitFor(() => gcm.length === 1 && elements.filter((n) => n === "iq").length >= 3, {
        timeoutMs: 5_000,
        description: "the ack (fast path) and the iq (element path)",
      });
      expect(JSON.parse(gcm[0] as string)).toMatchObject({ message_id: "m1", message_type: "ack" });
    } finally {
      closed = true;
      xmpp.destroySocket();
    }
    await waitFor(() => statuses.includes("disconnect"), { timeoutMs: 5_000, description: "disconnect" });
    expect(xmpp.tlsSocket).toBeUndefined();
  });
});
