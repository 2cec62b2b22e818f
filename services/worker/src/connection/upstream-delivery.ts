// An upstream message or receipt read on a connection, handed to the slot's upstream sink as an
// UpstreamDelivery bound to that connection: its ACK can only go out there, and its signal aborts when
// that connection closes.
import type { Clock } from "./clock.ts";
import type { UpstreamDelivery, UpstreamSink } from "./contract.ts";
import type { UpstreamIncoming } from "./incoming-dispatch.ts";
import { upstreamAckXml } from "./wire.ts";

/** The connection a delivery comes from (one object per connection). */
export interface UpstreamOrigin {
  readonly senderId: string;
  readonly connectionId: string;
  readonly clock: Clock;
  /** Aborted when the connection closes. */
  readonly signal: AbortSignal;
  readonly sink: UpstreamSink;
  /** Queues a stanza on the connection; false when it can no longer write. */
  readonly write: (stanza: string) => boolean;
  /** The message will not be ACKed: the connection closes so that CCS resends it on the next one. */
  readonly abandon: (messageId: string, kind: string, reason: string) => void;
}

/** Hands an upstream message or receipt to the sink (never left without a taker; see UpstreamSink). */
export function deliverUpstream(incoming: UpstreamIncoming, origin: UpstreamOrigin): void {
  const { from, messageId, kind } = incoming;
  const delivery: UpstreamDelivery = {
    kind,
    senderId: origin.senderId,
    connectionId: origin.connectionId,
    from,
    messageId,
    ...(incoming.category !== undefined && { category: incoming.category }),
    payloadJson: incoming.payloadJson,
    receivedAt: origin.clock.now(),
    signal: origin.signal,
    ack: () => origin.write(upstreamAckXml(from, messageId)),
    abandon: (reason) => origin.abandon(messageId, kind, reason),
  };
  try {
    origin.sink(delivery);
  } catch (err) {
    // A sink must not throw; if one does, the message is not ACKed: CCS resends it on a new connection.
    origin.abandon(messageId, kind, `upstream sink failed: ${String(err)}`);
  }
}
