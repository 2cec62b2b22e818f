// A small scriptable CCS server for connection tests (nats.js nst/TestServer style): direct TLS, SASL
// PLAIN, bind, session, ping; downstream messages go to a handler that may answer, drop, or script.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server, type TLSSocket } from "node:tls";
import type { XmlElement } from "@xmpp/client";
import { Parser } from "@xmpp/xml";

export interface TestCert {
  readonly certPem: string;
  readonly keyPem: string;
}

/** A self-signed certificate for 127.0.0.1/localhost, made with the openssl CLI. */
export function makeCert(cn = "localhost"): TestCert {
  const dir = mkdtempSync(join(tmpdir(), "ccs-cert-"));
  try {
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
        ...["-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "2"],
        ...["-subj", `/CN=${cn}`, "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
      ],
      { stdio: "ignore" },
    );
    return {
      certPem: readFileSync(join(dir, "cert.pem"), "utf8"),
      keyPem: readFileSync(join(dir, "key.pem"), "utf8"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface FakeConnection {
  readonly id: number;
  readonly socket: TLSSocket;
  authenticated: boolean;
  /** Downstream message_ids received and not answered yet. */
  readonly pending: Set<string>;
  maxPending: number;
  readonly received: string[];
  send(raw: string): void;
  ack(messageId: string, from?: string): void;
}

export type DownstreamHandler = (conn: FakeConnection, payload: { message_id: string; to: string }) => void;

export interface FakeCcsServer {
  readonly port: number;
  readonly caPem: string;
  readonly connections: FakeConnection[];
  authAttempts: number;
  acceptKey: string;
  /** Delay before the SASL answer (success or failure), to close connections mid-SASL; default 0. */
  authDelayMs: number;
  onDownstream: DownstreamHandler;
  /** Upstream ACK payloads received, with the connection id. */
  readonly upstreamAcks: Array<{ connection: number; to: string; message_id: string }>;
  stop(): Promise<void>;
}

const SASL = "urn:ietf:params:xml:ns:xmpp-sasl";

export async function startFakeCcs(
  options: { cert?: TestCert; apiKey?: string } = {},
): Promise<FakeCcsServer> {
  const cert = options.cert ?? makeCert();
  let seq = 0;
  const server: Server = createServer({ cert: cert.certPem, key: cert.keyPem });
  const state: FakeCcsServer = {
    port: 0,
    caPem: cert.certPem,
    connections: [],
    authAttempts: 0,
    acceptKey: options.apiKey ?? "key",
    authDelayMs: 0,
    onDownstream: (conn, p) => conn.ack(p.message_id, p.to),
    upstreamAcks: [],
    stop: () =>
      new Promise<void>((resolve) => {
        for (const c of state.connections) c.socket.destroy();
        server.close(() => resolve());
      }),
  };
  server.on("secureConnection", (socket: TLSSocket) => {
    socket.on("error", () => undefined);
    const conn: FakeConnection = {
      id: ++seq,
      socket,
      authenticated: false,
      pending: new Set(),
      maxPending: 0,
      received: [],
      send: (raw) => {
        if (!socket.destroyed) socket.write(raw);
      },
      ack: (messageId, from = "tok") => {
        conn.pending.delete(messageId);
        conn.send(
          `<message><gcm xmlns="google:mobile:data">${JSON.stringify({ from, message_id: messageId, message_type: "ack" })}</gcm></message>`,
        );
      },
    };
    state.connections.push(conn);
    let parser = newParser();
    function newParser(): Parser {
      const p = new Parser();
      p.on("start", () => {
        conn.send(
          `<stream:stream from="gcm.googleapis.com" id="s${conn.id}" version="1.0" xmlns:stream="http://etherx.jabber.org/streams" xmlns="jabber:client">`,
        );
        conn.send(
          conn.authenticated
            ? `<stream:features><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/><session xmlns="urn:ietf:params:xml:ns:xmpp-session"/></stream:features>`
            : `<str:features xmlns:str="http://etherx.jabber.org/streams"><mechanisms xmlns="${SASL}"><mechanism>X-OAUTH2</mechanism><mechanism>X-GOOGLE-TOKEN</mechanism><mechanism>PLAIN</mechanism></mechanisms></str:features>`,
        );
      });
      p.on("element", (el: XmlElement) => onElement(el));
      p.on("end", () => {
        conn.send("</stream:stream>");
        socket.end();
      });
      return p;
    }
    function onElement(el: XmlElement): void {
      conn.received.push(el.toString());
      if (el.getName() === "auth") {
        state.authAttempts++;
        const [, user, key] = Buffer.from(el.getText(), "base64").toString("utf8").split("\0");
        const answer = (): void => {
          if (socket.destroyed) return;
          if (key === state.acceptKey && user !== undefined && user.length > 0) {
            conn.authenticated = true;
            conn.send(`<success xmlns="${SASL}"/>`);
            parser = newParser();
          } else {
            conn.send(`<failure xmlns="${SASL}"><not-authorized/></failure></stream:stream>`);
            socket.end();
          }
        };
        if (state.authDelayMs > 0) setTimeout(answer, state.authDelayMs);
        else answer();
        return;
      }
      if (el.getName() === "iq") {
        const id = el.attrs.id ?? "";
        if (el.getChild("bind") !== undefined) {
          conn.send(
            `<iq id="${id}" type="result"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><jid>x@gcm.googleapis.com/r${conn.id}</jid></bind></iq>`,
          );
        } else {
          conn.send(`<iq id="${id}" type="result"/>`);
        }
        return;
      }
      if (el.getName() === "message") {
        const payload = JSON.parse(el.getChild("gcm")?.getText() ?? "{}") as {
          message_id: string;
          to: string;
          message_type?: string;
        };
        if (payload.message_type === "ack") {
          state.upstreamAcks.push({ connection: conn.id, to: payload.to, message_id: payload.message_id });
          return;
        }
        conn.pending.add(payload.message_id);
        conn.maxPending = Math.max(conn.maxPending, conn.pending.size);
        state.onDownstream(conn, payload);
      }
    }
    socket.on("data", (data: Buffer) => parser.write(data.toString("utf8")));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return Object.assign(state, { port: address.port });
}
