// Fencing tokens: a per-resource counter kept on N independent Redis nodes that only grows.
//
// Taking INCR on every node and the max of a majority is NOT enough: with three nodes, (0,2,2) → INCR on
// {1,3} gives (1,2,3), token 3; a later INCR on {1,2} gives (2,3,3), token 3 again. So a token is issued
// in two phases, as a register over majorities (ABD / Paxos ballots):
//   1. read the counter on every node, wait for a majority, t = max + 1;
//   2. raise the counter to t on every node (Lua: only if lower), wait for a majority that accepted t.
// Any later read majority intersects that write majority, so the next token is > t. The caller must
// hold the resource's lock, and must discard t if phase 2 completed after its lock validity ended.
//
// Data loss: a node that restarts with an empty dataset loses the counter (as Redlock loses its locks).
// A plain counter would then start again at 1, below tokens already handed out, and everything that
// compares tokens (workers following the leader's assignment, fenced writes) would take the new holder
// for a stale one. So t is also floored at the wall clock in ms: t = max(max + 1, now). Tokens still
// grow by one per issue in the normal case; after a majority lost the counter, the next token is larger
// than every earlier one as long as clocks across the cluster agree to within the outage (NTP does) and
// fewer than one token per ms was issued on average (leader elections and slot hand-overs are rare).
// Persistence (appendonly) is still recommended for production nodes: it keeps the locks as well.

import { StaleFencingTokenError } from "./errors.ts";
import type { RedisNodes } from "./redis-nodes.ts";

/** Returns the previous value; sets ARGV[1] only when it is greater. */
const RAISE_SCRIPT = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local want = tonumber(ARGV[1])
if cur < want then
  redis.call('SET', KEYS[1], ARGV[1])
end
return cur
`;

function toCounter(raw: string | null): number {
  if (raw === null) {
    return 0;
  }
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

/** Issues the next fencing token for `fenceKey` (see the file comment); `now` is the wall clock in ms. */
export async function issueFencingToken(
  nodes: RedisNodes,
  fenceKey: string,
  now: () => number = Date.now,
): Promise<number> {
  const seen = await nodes.majority(`read fence ${fenceKey}`, async (client) =>
    toCounter(await client.get(fenceKey)),
  );
  const token = Math.max(Math.max(...seen) + 1, Math.floor(now()));
  await nodes.majority(`raise fence ${fenceKey}`, async (client) => {
    const previous = Number(await client.eval(RAISE_SCRIPT, 1, fenceKey, String(token)));
    if (previous >= token) {
      throw new StaleFencingTokenError(`raise fence ${fenceKey}`, token);
    }
    return previous;
  });
  return token;
}

/** The highest counter value a majority of nodes reports (diagnostics and tests). */
export async function readFencingToken(nodes: RedisNodes, fenceKey: string): Promise<number> {
  const seen = await nodes.majority(`read fence ${fenceKey}`, async (client) =>
    toCounter(await client.get(fenceKey)),
  );
  return Math.max(...seen);
}
