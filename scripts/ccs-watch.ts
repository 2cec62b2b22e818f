// `npm run watch [-- --sender ID]`: prints outcomes (`ccs.out.*`), upstream messages (`ccs.up.*.>`) and
// delivery receipts (`ccs.receipt.*`) as they are published — core NATS subscriptions, nothing is
// consumed or acknowledged. Ctrl-C stops. `--json` prints one raw JSON line per message instead.
import { UpstreamHeaders } from "@ccs/contract";
import type { Msg } from "@nats-io/transport-node";
import { connectOrExit, natsServers, parseCli, subjectPrefix, subjectsOrExit } from "./cli-args.ts";

const USAGE = "usage: npm run watch [-- --sender ID] [--json] [--nats URL] [--prefix ccs]";
const args = parseCli(
  {
    sender: { type: "string" },
    json: { type: "boolean" },
  },
  USAGE,
);
const sender = args.sender === "*" ? undefined : args.sender;
const s = subjectsOrExit(subjectPrefix(args.prefix), sender, USAGE);
const subjects = {
  outcome: sender === undefined ? s.outAll : s.out(sender),
  upstream: sender === undefined ? s.upAll : s.upOf(sender),
  receipt: sender === undefined ? s.receiptAll : s.receipt(sender),
};
const nc = await connectOrExit(natsServers(args.nats), "ccs-watch");

type Kind = "outcome" | "upstream" | "receipt";

function describe(kind: Kind, msg: Msg): string {
  const h = (name: string): string | undefined => msg.headers?.get(name) || undefined;
  const time = new Date().toISOString().slice(11, 23);
  if (kind === "outcome") {
    const o = msg.json<Record<string, unknown>>();
    const extra = [
      o.code === undefined ? "" : ` code=${String(o.code)}`,
      o.token_action === undefined ? "" : ` token_action=${String(o.token_action)}`,
      o.fencing_token === undefined ? "" : ` slot=${String(o.slot)} fencing_token=${String(o.fencing_token)}`,
    ].join("");
    return `${time} outcome  sender=${String(o.sender_id)} id=${String(o.message_id)} status=${String(o.status)}${extra} latency=${String(o.latency_ms)}ms worker=${String(o.worker_id)}`;
  }
  const body = msg.string();
  return `${time} ${kind.padEnd(8)} sender=${h(UpstreamHeaders.senderId) ?? "?"} from=${h(UpstreamHeaders.from) ?? "?"} id=${h(UpstreamHeaders.messageId) ?? "?"}${kind === "upstream" ? ` category=${h(UpstreamHeaders.category) ?? "_"}` : ""} ${body}`;
}

function watch(subject: string, kind: Kind): void {
  nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err !== null) {
        process.stderr.write(`${subject}: ${err.message}\n`);
        return;
      }
      if (args.json === true) {
        let body: unknown;
        try {
          body = msg.json();
        } catch {
          body = msg.string();
        }
        process.stdout.write(`${JSON.stringify({ kind, subject: msg.subject, body })}\n`);
      } else {
        process.stdout.write(`${describe(kind, msg)}\n`);
      }
    },
  });
}

watch(subjects.outcome, "outcome");
watch(subjects.upstream, "upstream");
watch(subjects.receipt, "receipt");
await nc.flush();
process.stderr.write(
  `watching ${subjects.outcome}, ${subjects.upstream}, ${subjects.receipt} on ${nc.getServer()} (Ctrl-C to stop)\n`,
);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void nc.drain().then(() => process.exit(0));
  });
}
await nc.closed();
