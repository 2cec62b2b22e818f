/**
 * Baseline for bench/ccs-emulator-bench.ts: the least a CCS-like server can do. Direct TLS, regex
 * framing, no validation, no state beyond the read buffer: every <message> is answered with an ACK.
 * The difference between this and the emulator is the emulator's own cost.
 *
 *   node bench/support/ack-server.ts --cert CERT.pem --key KEY.pem
 * prints one JSON line `{"event":"ready","port":N}` on stdout.
 */
import { readFileSync } from "node:fs";
import tls from "node:tls";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    cert: { type: "string" },
    key: { type: "string" },
    port: { type: "string", default: "0" },
  },
});
if (values.cert === undefined || values.key === undefined) {
  process.stderr.write("usage: ack-server.ts --cert CERT.pem --key KEY.pem [--port N]\n");
  process.exit(2);
}

const FEATURES_SASL =
  '<str:features xmlns:str="http://etherx.jabber.org/streams"><mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl">' +
  "<mechanism>PLAIN</mechanism></mechanisms></str:features>";
const FEATURES_BIND =
  '<stream:features><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/>' +
  '<session xmlns="urn:ietf:params:xml:ns:xmpp-session"/></stream:features>';
const HEADER =
  '<stream:stream from="gcm.googleapis.com" id="baseline" version="1.0" ' +
  'xmlns:stream="http://etherx.jabber.org/streams" xmlns="jabber:client">';
/** One top-level construct at the cursor; the scan stops at anything incomplete (kept for the next read). */
const TOKEN =
  /\s+|<stream:stream[^>]*>|<auth[^>]*>[^<]*<\/auth>|<iq[\s\S]*?<\/iq>|<message[\s\S]*?<\/message>|<\/stream:stream>/y;
const MESSAGE_ID = /"message_id"\s*:\s*"([^"]*)"/;
const TO = /"to"\s*:\s*"([^"]*)"/;
const IQ_ID = /id=["']([^"']*)["']/;

const server = tls.createServer(
  { cert: readFileSync(values.cert), key: readFileSync(values.key) },
  (socket) => {
    let buf = "";
    let authenticated = false;
    socket.setNoDelay(true);
    socket.on("error", () => socket.destroy());
    socket.on("data", (data: Buffer) => {
      buf += data.toString("utf8");
      const out: string[] = [];
      TOKEN.lastIndex = 0;
      let consumed = 0;
      for (;;) {
        const m = TOKEN.exec(buf);
        if (m === null) break;
        consumed = TOKEN.lastIndex;
        const tok = m[0];
        const c = tok.charCodeAt(1);
        if (tok.startsWith("<message")) {
          const id = MESSAGE_ID.exec(tok)?.[1] ?? "";
          const to = TO.exec(tok)?.[1] ?? "";
          out.push(
            `<message><gcm xmlns="google:mobile:data">{"from":"${to}","message_id":"${id}","message_type":"ack"}</gcm></message>`,
          );
        } else if (tok.startsWith("<stream:stream")) {
          out.push(HEADER, authenticated ? FEATURES_BIND : FEATURES_SASL);
        } else if (tok.startsWith("<auth")) {
          authenticated = true;
          out.push('<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>');
        } else if (tok.startsWith("<iq")) {
          const id = IQ_ID.exec(tok)?.[1] ?? "";
          out.push(
            tok.includes("<bind")
              ? `<iq id="${id}" type="result"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><jid>0@gcm.googleapis.com/b</jid></bind></iq>`
              : `<iq id="${id}" type="result"/>`,
          );
        } else if (c === 47 /* '/' */) {
          out.push("</stream:stream>");
          socket.end(out.join(""));
          return;
        }
      }
      buf = buf.slice(consumed);
      if (out.length > 0) socket.write(out.join(""));
    });
  },
);

server.listen(Number(values.port), "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ event: "ready", port })}\n`);
});
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
