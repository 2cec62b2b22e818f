// `npm run send -- --to TOKEN [--data k=v]... [--sender ID] [--count N] [--wait]`: publishes downstream
// requests to `ccs.down.<sender>` through JetStream (msgID = message_id, so a re-publish within the
// duplicate window is dropped) and prints one JSON line per message. With --wait it also waits for
// each message's outcome on `ccs.out.<sender>` and prints it (exit 1 if one does not come in time).
import { randomBytes } from "node:crypto";
import { TTL_MAX_SECONDS } from "@ccs/ccs-protocol";
import { jetstream } from "@nats-io/jetstream";
import {
  connectOrExit,
  DEFAULT_SENDER_ID,
  intInRange,
  natsServers,
  parseCli,
  positiveInt,
  subjectPrefix,
  subjectsOrExit,
} from "./cli-args.ts";

const USAGE = `usage: npm run send -- --to TOKEN [--data key=value]... [--sender ID] [--count N] [--ttl SECONDS]
                     [--wait] [--timeout MS] [--nats URL] [--prefix ccs]`;

const args = parseCli(
  {
    to: { type: "string" },
    data: { type: "string", multiple: true },
    sender: { type: "string" },
    count: { type: "string" },
    ttl: { type: "string" },
    wait: { type: "boolean" },
    timeout: { type: "string" },
  },
  USAGE,
);
if (args.to === undefined || args.to === "") {
  process.stderr.write(`--to TOKEN is required\n${USAGE}\n`);
  process.exit(2);
}
const data: Record<string, string> = {};
for (const kv of args.data ?? []) {
  const at = kv.indexOf("=");
  if (at <= 0) {
    process.stderr.write(`--data takes key=value, got ${JSON.stringify(kv)}\n`);
    process.exit(2);
  }
  data[kv.slice(0, at)] = kv.slice(at + 1);
}
const to = args.to;
const senderId = args.sender ?? DEFAULT_SENDER_ID;
const count = positiveInt("count", args.count, 1, USAGE);
const timeoutMs = positiveInt("timeout", args.timeout, 30_000, USAGE);
const ttl = args.ttl === undefined ? undefined : intInRange("ttl", args.ttl, 0, TTL_MAX_SECONDS, USAGE);
const subjects = subjectsOrExit(subjectPrefix(args.prefix), senderId, USAGE);

const nc = await connectOrExit(natsServers(args.nats), "ccs-send");
const js = jetstream(nc);
const pending = new Set<string>();
let done: () => void = () => undefined;
const allIn = new Promise<void>((resolve) => {
  done = resolve;
});
if (args.wait === true) {
  // Subscribed before publishing, so no outcome is missed.
  nc.subscribe(subjects.out(senderId), {
    callback: (err, msg) => {
      if (err !== null) return;
      const outcome = msg.json<{ message_id?: string }>();
      if (outcome.message_id === undefined || !pending.delete(outcome.message_id)) return;
      process.stdout.write(`${JSON.stringify({ outcome })}\n`);
      if (pending.size === 0) done();
    },
  });
  await nc.flush();
}

const batch = `send-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
for (let i = 0; i < count; i++) {
  const messageId = count === 1 ? batch : `${batch}-${i}`;
  const request = {
    to,
    message_id: messageId,
    ...(Object.keys(data).length > 0 ? { data } : {}),
    ...(ttl === undefined ? {} : { time_to_live: ttl }),
  };
  pending.add(messageId);
  const ack = await js.publish(subjects.down(senderId), JSON.stringify(request), { msgID: messageId });
  process.stdout.write(
    `${JSON.stringify({ published: messageId, subject: subjects.down(senderId), stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate })}\n`,
  );
}

let exitCode = 0;
if (args.wait === true && pending.size > 0) {
  const timer = setTimeout(done, timeoutMs);
  await allIn;
  clearTimeout(timer);
  if (pending.size > 0) {
    process.stderr.write(`no outcome within ${timeoutMs} ms for: ${[...pending].join(", ")}\n`);
    exitCode = 1;
  }
}
await nc.drain();
process.exit(exitCode);
