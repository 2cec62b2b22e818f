import type { DownstreamRequest, NackCode } from "@ccs/ccs-protocol";
import type { RuntimeSettings } from "../config.ts";
import type { Device, DeviceMessage } from "../devices/device.ts";
import type { Faults } from "../faults.ts";
import type { EmulatorLogger } from "../logger.ts";
import type { CounterPair } from "../stats.ts";
import type { Connection } from "./connection.ts";
import type { PlainCredentials } from "./sasl.ts";

/** The answer a downstream message gets (decided on arrival, written after the ACK latency). */
export interface Answer {
  readonly messageId: string;
  /** `to` of the request: the `from` of the ACK/NACK. */
  readonly to: string;
  /** null = ACK. */
  readonly code: NackCode | null;
  readonly description: string;
  /** Canonical token for the ACK of a rotated token. */
  readonly registrationId: string | undefined;
  /** Where the ACKed message goes when its answer is due (null: dry run, topic, NACK). */
  readonly device: Device | null;
  readonly message: DeviceMessage | null;
  /** Fault: the message is processed but its answer never comes. */
  readonly drop: boolean;
}

export type AuthOutcome = { kind: "ok"; counters: CounterPair } | { kind: "refused" } | { kind: "limit" };

/** What a connection needs from the emulator; implemented once, in the composition root's core. */
export interface ConnectionHub {
  readonly settings: RuntimeSettings;
  readonly faults: Faults;
  readonly logger: EmulatorLogger;
  readonly clock: () => number;
  /** Checks credentials, the refuseAuth fault and the per-sender limit; counts failures. */
  authenticate(conn: Connection, credentials: PlainCredentials | null): AuthOutcome;
  /** The connection is bound (online): it can take upstream. */
  bound(conn: Connection): void;
  /** The connection is gone; `unanswered` downstream messages never got their answer. */
  closed(conn: Connection, unanswered: number): void;
  /** Decides the answer of a valid downstream request. */
  decide(conn: Connection, request: DownstreamRequest): Answer;
  /** The answer of a request that validation rejected with a NACK. */
  rejected(messageId: string, to: string, code: NackCode, description: string): Answer;
  /** The answer is due: deliver and count (the connection writes the stanza). */
  answered(conn: Connection, answer: Answer): void;
  /** Milliseconds to wait before answering (0 = synchronously, no timer). */
  answerDelay(): number;
  upstreamAck(conn: Connection, to: string, messageId: string): void;
  /** The connection can take upstream again (e.g. its socket drained). */
  upstreamReady(conn: Connection): void;
}
