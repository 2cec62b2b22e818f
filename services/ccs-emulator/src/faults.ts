import { isNackCode, NACK_TEXTS, type NackCode } from "@ccs/ccs-protocol";
import { type RandomDrainOptions, readRandomDrain } from "./config.ts";
import { InvalidOptionError } from "./errors.ts";
import type { LatencyDistribution } from "./latency.ts";
import type { Random } from "./random.ts";
import {
  readInt,
  readLatency,
  readNumber,
  readString,
  rejectUnknownKeys,
  requireRecord,
} from "./validate.ts";

/** Faults as PUT /faults takes them (PUT replaces the whole set). */
export interface FaultConfig {
  /** NACK with `code` at this probability (checked in insertion order, first hit wins). */
  nack?: Partial<Record<NackCode, number>>;
  /** The next `count` downstream messages are NACKed with `code` (e.g. SERVICE_UNAVAILABLE bursts). */
  nackBurst?: { code: NackCode; count: number };
  /** Probability that an answer never comes (the message still reaches its device). */
  dropAnswers?: number;
  /** Replaces ackLatency while set. */
  slowAcks?: LatencyDistribution;
  /** That connection stops reading its socket (TCP backpressure builds up on the client). */
  stopReading?: { connectionId: string };
  /** Refuse every authentication: `true` until cleared, `{ untilMs }` until that epoch ms, `{ forMs }` for a while. */
  refuseAuth?: boolean | { untilMs: number } | { forMs: number };
  /** CONNECTION_DRAINING at random. */
  randomDrain?: RandomDrainOptions | null;
  /** Abrupt TCP resets at random. */
  randomReset?: { perConnectionPerMinute: number } | null;
}

/** What GET /faults reports: the active set, with the burst's remaining count and refuseAuth as a deadline. */
export interface FaultView {
  nack?: Partial<Record<NackCode, number>>;
  nackBurst?: { code: NackCode; count: number };
  dropAnswers?: number;
  slowAcks?: LatencyDistribution;
  stopReading?: { connectionId: string };
  refuseAuth?: boolean | { untilMs: number };
  randomDrain?: RandomDrainOptions;
  randomReset?: { perConnectionPerMinute: number };
}

const FAULT_KEYS = [
  "nack",
  "nackBurst",
  "dropAnswers",
  "slowAcks",
  "stopReading",
  "refuseAuth",
  "randomDrain",
  "randomReset",
];

function readCode(value: unknown, path: string): NackCode {
  if (typeof value !== "string" || !isNackCode(value))
    throw new InvalidOptionError(`${path} must be a NACK code`);
  return value;
}

/** Validates a PUT /faults body. */
export function readFaults(value: unknown): FaultConfig {
  const obj = requireRecord(value, "faults");
  rejectUnknownKeys(obj, FAULT_KEYS, "faults");
  const out: FaultConfig = {};
  if (obj.nack !== undefined) {
    const nack = requireRecord(obj.nack, "faults.nack");
    const probs: Partial<Record<NackCode, number>> = {};
    for (const [code, p] of Object.entries(nack)) {
      probs[readCode(code, `faults.nack key "${code}"`)] = readNumber(p, `faults.nack.${code}`, 0, 1);
    }
    out.nack = probs;
  }
  if (obj.nackBurst !== undefined) {
    const burst = requireRecord(obj.nackBurst, "faults.nackBurst");
    rejectUnknownKeys(burst, ["code", "count"], "faults.nackBurst");
    out.nackBurst = {
      code: readCode(burst.code, "faults.nackBurst.code"),
      count: readInt(burst.count, "faults.nackBurst.count", 0, 100_000_000),
    };
  }
  if (obj.dropAnswers !== undefined)
    out.dropAnswers = readNumber(obj.dropAnswers, "faults.dropAnswers", 0, 1);
  if (obj.slowAcks !== undefined) out.slowAcks = readLatency(obj.slowAcks, "faults.slowAcks");
  if (obj.stopReading !== undefined) {
    const stop = requireRecord(obj.stopReading, "faults.stopReading");
    rejectUnknownKeys(stop, ["connectionId"], "faults.stopReading");
    out.stopReading = { connectionId: readString(stop.connectionId, "faults.stopReading.connectionId", 128) };
  }
  if (obj.refuseAuth !== undefined) {
    if (typeof obj.refuseAuth === "boolean") out.refuseAuth = obj.refuseAuth;
    else {
      const r = requireRecord(obj.refuseAuth, "faults.refuseAuth");
      if (r.untilMs !== undefined) {
        rejectUnknownKeys(r, ["untilMs"], "faults.refuseAuth");
        out.refuseAuth = { untilMs: readInt(r.untilMs, "faults.refuseAuth.untilMs", 0) };
      } else {
        rejectUnknownKeys(r, ["forMs"], "faults.refuseAuth");
        out.refuseAuth = { forMs: readInt(r.forMs, "faults.refuseAuth.forMs", 0, 86_400_000) };
      }
    }
  }
  if (obj.randomDrain !== undefined) out.randomDrain = readRandomDrain(obj.randomDrain, "faults.randomDrain");
  if (obj.randomReset !== undefined) out.randomReset = readRandomDrain(obj.randomReset, "faults.randomReset");
  return out;
}

/** The description CCS gives with a NACK of `code` (texts from @ccs/ccs-protocol). */
export function nackDescription(code: NackCode, to: string): string {
  switch (code) {
    case "BAD_ACK":
      return NACK_TEXTS.badAck();
    case "BAD_REGISTRATION":
      return NACK_TEXTS.badRegistration(to);
    case "CONNECTION_DRAINING":
      return NACK_TEXTS.connectionDraining();
    case "DEVICE_UNREGISTERED":
      return NACK_TEXTS.deviceUnregistered();
    case "INTERNAL_SERVER_ERROR":
      return NACK_TEXTS.internalServerError();
    case "INVALID_JSON":
      return NACK_TEXTS.malformedJson("Payload is not valid JSON");
    case "QUOTA_EXCEEDED":
      return NACK_TEXTS.quotaExceeded();
    case "DEVICE_MESSAGE_RATE_EXCEEDED":
      return NACK_TEXTS.deviceMessageRateExceeded();
    case "SERVICE_UNAVAILABLE":
      return NACK_TEXTS.serviceUnavailable();
  }
}

/** Run-time fault switches, read on the hot path through cheap flags. */
export class Faults {
  #config: FaultConfig = {};
  #nackEntries: [NackCode, number][] = [];
  #burstCode: NackCode | null = null;
  #burstLeft = 0;
  #refuseUntil = 0;
  /** True when any downstream fault (NACK, burst, dropped answer) may fire: skip all checks when false. */
  downstreamActive = false;
  /** Latency override while slowAcks is set. */
  slowAcks: LatencyDistribution | null = null;

  set(config: FaultConfig, now: number): void {
    this.#config = config;
    this.#nackEntries = Object.entries(config.nack ?? {}).filter(([, p]) => p > 0) as [NackCode, number][];
    this.#burstCode = config.nackBurst?.code ?? null;
    this.#burstLeft = config.nackBurst?.count ?? 0;
    const r = config.refuseAuth;
    this.#refuseUntil =
      r === undefined || r === false
        ? 0
        : r === true
          ? Number.POSITIVE_INFINITY
          : "untilMs" in r
            ? r.untilMs
            : now + r.forMs;
    this.slowAcks = config.slowAcks ?? null;
    this.#refresh();
  }

  clear(): void {
    this.set({}, 0);
  }

  get stopReadingConnectionId(): string | undefined {
    return this.#config.stopReading?.connectionId;
  }

  get randomDrain(): RandomDrainOptions | null | undefined {
    return this.#config.randomDrain;
  }

  get randomReset(): { perConnectionPerMinute: number } | null | undefined {
    return this.#config.randomReset;
  }

  authRefused(now: number): boolean {
    return this.#refuseUntil > now;
  }

  /** The NACK to inject into this downstream message, if any. */
  pickNack(random: Random): NackCode | null {
    if (this.#burstLeft > 0 && this.#burstCode !== null) {
      this.#burstLeft--;
      const code = this.#burstCode;
      if (this.#burstLeft === 0) this.#refresh();
      return code;
    }
    for (const [code, p] of this.#nackEntries) if (random.chance(p)) return code;
    return null;
  }

  dropAnswer(random: Random): boolean {
    const p = this.#config.dropAnswers ?? 0;
    return p > 0 && random.chance(p);
  }

  view(now: number): FaultView {
    const c = this.#config;
    const view: FaultView = {};
    if (c.nack !== undefined) view.nack = { ...c.nack };
    if (this.#burstCode !== null && this.#burstLeft > 0)
      view.nackBurst = { code: this.#burstCode, count: this.#burstLeft };
    if (c.dropAnswers !== undefined) view.dropAnswers = c.dropAnswers;
    if (c.slowAcks !== undefined) view.slowAcks = c.slowAcks;
    if (c.stopReading !== undefined) view.stopReading = { ...c.stopReading };
    if (this.#refuseUntil > now) {
      view.refuseAuth =
        this.#refuseUntil === Number.POSITIVE_INFINITY ? true : { untilMs: this.#refuseUntil };
    }
    if (c.randomDrain) view.randomDrain = c.randomDrain;
    if (c.randomReset) view.randomReset = c.randomReset;
    return view;
  }

  #refresh(): void {
    this.downstreamActive =
      this.#nackEntries.length > 0 || this.#burstLeft > 0 || (this.#config.dropAnswers ?? 0) > 0;
  }
}
