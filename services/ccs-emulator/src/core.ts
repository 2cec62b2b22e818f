import {
  CCS_RECEIPT_FROM,
  type DownstreamRequest,
  NACK_TEXTS,
  type NackCode,
  RECEIPT_MESSAGE_ID_PREFIX,
} from "@ccs/ccs-protocol";
import type { ResolvedConfig, RuntimeSettings } from "./config.ts";
import type { Connection } from "./connection/connection.ts";
import type { Answer, AuthOutcome, ConnectionHub } from "./connection/hub.ts";
import { keyMatches, type PlainCredentials } from "./connection/sasl.ts";
import type { Device, DeviceMessage } from "./devices/device.ts";
import { Ledgers } from "./devices/ledger.ts";
import { DeviceRegistry } from "./devices/registry.ts";
import { Faults, nackDescription } from "./faults.ts";
import { isZeroLatency, type LatencyDistribution, sampleLatency } from "./latency.ts";
import type { EmulatorLogger } from "./logger.ts";
import { createRandom, type Random } from "./random.ts";
import { Stats } from "./stats.ts";
import { UpstreamRouter } from "./upstream/router.ts";

/** time_to_live of a downstream message without one (4 weeks, the maximum). */
export const DEFAULT_TTL_SECONDS = 2_419_200;
/** Upstream messages and receipts without a time_to_live stay re-deliverable this long. */
export const DEFAULT_UPSTREAM_TTL_SECONDS = 2_419_200;

/**
 * The emulator's shared state and its rules: authentication, the answer of each downstream message,
 * device delivery, receipts and upstream routing. Connections reach it through {@link ConnectionHub}.
 */
export class EmulatorCore implements ConnectionHub {
  readonly config: ResolvedConfig;
  readonly settings: RuntimeSettings;
  readonly faults = new Faults();
  readonly logger: EmulatorLogger;
  readonly clock: () => number;
  readonly random: Random;
  readonly stats: Stats;
  readonly ledgers: Ledgers;
  readonly registry: DeviceRegistry;
  readonly router: UpstreamRouter;
  /** Every live connection, by id. */
  readonly connections = new Map<string, Connection>();
  /** Authenticated live connections per sender. */
  readonly bySender = new Map<string, Set<Connection>>();
  readonly #keys: Map<string, string>;
  #latency: LatencyDistribution;
  #zeroLatency: boolean;

  constructor(config: ResolvedConfig) {
    this.config = config;
    this.settings = { ...config.runtime };
    this.logger = config.logger;
    this.clock = config.clock;
    this.random = createRandom(config.seed);
    this.#keys = new Map(config.senders.map((s) => [s.senderId, s.apiKey]));
    for (const s of config.senders) this.bySender.set(s.senderId, new Set());
    this.stats = new Stats(config.senders.map((s) => s.senderId));
    this.ledgers = new Ledgers(config.maxLedgerEntries, (senderId) =>
      this.stats.forSender(senderId).inc("duplicateDeliveries"),
    );
    this.registry = new DeviceRegistry({
      maxDevices: config.maxDevices,
      maxHeld: config.maxHeldPerDevice,
      ledgers: this.ledgers,
      stats: this.stats,
      clock: this.clock,
      hooks: { delivered: (device, message) => this.#delivered(device, message) },
    });
    this.router = new UpstreamRouter({
      stats: this.stats,
      clock: this.clock,
      maxQueue: config.maxUpstreamQueue,
      maxUnacked: this.settings.upstreamMaxUnacked,
    });
    this.#latency = this.settings.ackLatency;
    this.#zeroLatency = isZeroLatency(this.#latency);
  }

  /** Applies validated runtime settings (PUT /config) in place. */
  updateSettings(next: RuntimeSettings): void {
    Object.assign(this.settings, next);
    this.router.maxUnacked = next.upstreamMaxUnacked;
    this.refreshLatency();
  }

  /** Re-reads the effective ACK latency (slowAcks fault over ackLatency). */
  refreshLatency(): void {
    this.#latency = this.faults.slowAcks ?? this.settings.ackLatency;
    this.#zeroLatency = isZeroLatency(this.#latency);
  }

  registerConnection(conn: Connection): void {
    this.connections.set(conn.id, conn);
  }

  authenticate(conn: Connection, credentials: PlainCredentials | null): AuthOutcome {
    const key = credentials === null ? undefined : this.#keys.get(credentials.senderId);
    const counters =
      credentials === null || key === undefined ? null : this.stats.forSender(credentials.senderId);
    if (credentials === null || key === undefined || !keyMatches(key, credentials.password)) {
      if (counters === null) this.stats.global.authFailures++;
      else counters.inc("authFailures");
      this.logger.info(
        { connectionId: conn.id, senderId: credentials?.senderId ?? null },
        "authentication failed",
      );
      return { kind: "refused" };
    }
    const ok = counters ?? this.stats.forSender(credentials.senderId);
    if (this.faults.authRefused(this.clock())) {
      ok.inc("authFailures");
      this.logger.info(
        { connectionId: conn.id, senderId: credentials.senderId },
        "authentication refused (fault)",
      );
      return { kind: "refused" };
    }
    const live = this.bySender.get(credentials.senderId) ?? new Set<Connection>();
    if (live.size >= this.config.maxConnectionsPerSender) {
      ok.inc("connectionLimitRefusals");
      this.logger.info({ connectionId: conn.id, senderId: credentials.senderId }, "connection limit reached");
      return { kind: "limit" };
    }
    live.add(conn);
    this.bySender.set(credentials.senderId, live);
    ok.inc("connectionsOpened");
    this.logger.info({ connectionId: conn.id, senderId: credentials.senderId }, "authenticated");
    return { kind: "ok", counters: ok };
  }

  bound(conn: Connection): void {
    if (this.faults.stopReadingConnectionId === conn.id) conn.setStopReading(true);
    this.router.attach(conn);
  }

  closed(conn: Connection, unanswered: number): void {
    this.connections.delete(conn.id);
    if (conn.senderId !== "") {
      const counters = this.stats.forSender(conn.senderId);
      counters.inc("connectionsClosed");
      if (unanswered > 0) counters.inc("unanswered", unanswered);
      this.bySender.get(conn.senderId)?.delete(conn);
      this.router.detach(conn);
    }
    this.logger.info(
      { connectionId: conn.id, senderId: conn.senderId || null, unanswered },
      "connection closed",
    );
  }

  decide(conn: Connection, request: DownstreamRequest): Answer {
    const to = request.to;
    const messageId = request.message_id;
    if (conn.state === "draining")
      return this.rejected(messageId, to, "CONNECTION_DRAINING", NACK_TEXTS.connectionDraining());
    const drop = this.faults.downstreamActive && this.faults.dropAnswer(this.random);
    if (this.faults.downstreamActive) {
      const injected = this.faults.pickNack(this.random);
      if (injected !== null) return nack(messageId, to, injected, nackDescription(injected, to), drop);
    }
    if (to.startsWith("/topics/") || request.condition !== undefined) {
      // Topics have no simulated subscribers: accepted, delivered to no device.
      if (request.dry_run === true) this.stats.forSender(conn.senderId).inc("dryRun");
      return ack(messageId, to, undefined, null, null, drop);
    }
    const resolution = this.registry.resolve(to, this.settings.autoRegisterDevices, conn.senderId);
    switch (resolution.kind) {
      case "unknown":
        return nack(messageId, to, "BAD_REGISTRATION", NACK_TEXTS.badRegistration(to), drop);
      case "unregistered":
        return nack(messageId, to, "DEVICE_UNREGISTERED", NACK_TEXTS.deviceUnregistered(), drop);
      case "full":
        this.stats.forSender(conn.senderId).inc("ledgerOverflow");
        return ack(messageId, to, undefined, null, null, drop);
      case "device":
        break;
    }
    const now = this.clock();
    const device = resolution.device;
    if (!this.registry.allowRate(device, this.settings.deviceRateLimit, now)) {
      return nack(
        messageId,
        to,
        "DEVICE_MESSAGE_RATE_EXCEEDED",
        NACK_TEXTS.deviceMessageRateExceeded(),
        drop,
      );
    }
    if (request.dry_run === true) {
      this.stats.forSender(conn.senderId).inc("dryRun");
      return ack(messageId, to, resolution.canonical, null, null, drop);
    }
    const ttl = request.time_to_live ?? DEFAULT_TTL_SECONDS;
    const message: DeviceMessage = {
      senderId: conn.senderId,
      messageId,
      to,
      collapseKey: request.collapse_key,
      expiresAt: now + ttl * 1000,
      nowOrNever: ttl === 0,
      delayWhileIdle: request.delay_while_idle === true,
      receiptRequested: request.delivery_receipt_requested === true,
      acceptedAt: now,
    };
    return ack(messageId, to, resolution.canonical, device, message, drop);
  }

  rejected(messageId: string, to: string, code: NackCode, description: string): Answer {
    return nack(messageId, to, code, description, false);
  }

  answered(conn: Connection, answer: Answer): void {
    const counters = conn.counters ?? this.stats.forSender(conn.senderId);
    if (answer.code === null) {
      if (answer.device !== null && answer.message !== null) {
        // conn's counters are those of answer.message.senderId (the connection's sender).
        this.registry.accept(answer.device, answer.message, this.clock(), counters);
      }
      if (!answer.drop) {
        counters.global.acked++;
        counters.sender.acked++;
      }
    } else if (!answer.drop) {
      counters.nack(answer.code);
    }
  }

  answerDelay(): number {
    return this.#zeroLatency ? 0 : sampleLatency(this.#latency, this.random);
  }

  upstreamAck(conn: Connection, to: string, messageId: string): void {
    this.router.ack(conn, to, messageId);
  }

  upstreamReady(conn: Connection): void {
    this.router.pump(conn.senderId);
  }

  #delivered(device: Device, message: DeviceMessage): void {
    if (!message.receiptRequested) return;
    const now = this.clock();
    const messageId = `${RECEIPT_MESSAGE_ID_PREFIX}${message.messageId}`;
    const json = JSON.stringify({
      category: device.category,
      data: {
        message_status: "MESSAGE_SENT_TO_DEVICE",
        original_message_id: message.messageId,
        device_registration_id: message.to,
        message_sent_timestamp: String(now),
      },
      message_id: messageId,
      message_type: "receipt",
      from: CCS_RECEIPT_FROM,
      time_to_live: 0,
    });
    this.router.enqueue({
      kind: "receipt",
      senderId: message.senderId,
      from: CCS_RECEIPT_FROM,
      messageId,
      json,
      expiresAt: now + DEFAULT_UPSTREAM_TTL_SECONDS * 1000,
      sends: 0,
    });
  }
}

function ack(
  messageId: string,
  to: string,
  registrationId: string | undefined,
  device: Device | null,
  message: DeviceMessage | null,
  drop: boolean,
): Answer {
  return { messageId, to, code: null, description: "", registrationId, device, message, drop };
}

function nack(messageId: string, to: string, code: NackCode, description: string, drop: boolean): Answer {
  return { messageId, to, code, description, registrationId: undefined, device: null, message: null, drop };
}
