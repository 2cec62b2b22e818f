import {
  applyRuntimePatch,
  type RuntimeSettings,
  readUpstreamGenerator,
  type UpstreamGeneratorOptions,
} from "./config.ts";
import type { Connection, ConnectionView } from "./connection/connection.ts";
import { DEFAULT_UPSTREAM_TTL_SECONDS, type EmulatorCore } from "./core.ts";
import { type DeviceView, viewOf } from "./devices/device.ts";
import type { LedgerEntryView, LedgerSummary } from "./devices/ledger.ts";
import type { NewDevice } from "./devices/registry.ts";
import { InvalidOptionError, NotFoundError } from "./errors.ts";
import { type FaultConfig, type FaultView, readFaults } from "./faults.ts";
import type { Counters } from "./stats.ts";
import type { UpstreamGenerator } from "./upstream/generator.ts";
import { readBool, readInt, readString, rejectUnknownKeys, requireRecord } from "./validate.ts";

export interface SenderStats extends Counters {
  connections: number;
  pending: number;
  queuedUpstream: number;
  /** Upstream messages and receipts left un-ACKed on closed connections, resent on the next new one. */
  awaitingNewConnection: number;
}

export interface StatsView {
  connections: ConnectionView[];
  counters: Counters;
  bySender: Record<string, SenderStats>;
  devices: number;
  seed: number;
}

export interface DeviceDetail extends DeviceView {
  ledger: LedgerEntryView[];
}

export interface UpstreamRequest {
  senderId?: string;
  from: string;
  category?: string;
  data?: Record<string, string>;
  messageId?: string;
  timeToLive?: number;
}

export type DrainTarget = { connectionId: string } | { senderId: string } | { all: true };

/** The admin API's operations, in-process (same shapes as the HTTP routes). Inputs are validated. */
export interface EmulatorControl {
  health(): { status: "ok" };
  stats(): StatsView;
  /** Clears devices, ledgers, counters, faults and upstream queues; keeps listeners, senders, connections. */
  reset(): { status: "ok" };
  devices(): DeviceView[];
  addDevice(device: NewDevice): DeviceView;
  /** undefined when the token is unknown (HTTP: 404). */
  device(token: string): DeviceDetail | undefined;
  unregisterDevice(token: string): DeviceView;
  registerDevice(token: string): DeviceView;
  setDeviceOffline(token: string): DeviceView;
  setDeviceOnline(token: string): DeviceView;
  setDeviceIdle(token: string): DeviceView;
  setDeviceActive(token: string): DeviceView;
  rotateDevice(token: string, body?: { canonicalToken?: string }): DeviceView;
  ledger(options?: { messageIds?: boolean }): LedgerSummary;
  sendUpstream(request: UpstreamRequest): { messageId: string };
  setUpstreamGenerator(generator: UpstreamGeneratorOptions | null): {
    generator: UpstreamGeneratorOptions | null;
  };
  drain(target: DrainTarget): { drained: string[] };
  setFaults(faults: FaultConfig): FaultView;
  faults(): FaultView;
  resetConnection(connectionId: string): { reset: string };
  setConfig(patch: Partial<RuntimeSettings>): RuntimeSettings;
  config(): RuntimeSettings;
  senders(): { senderId: string }[];
}

const NEW_DEVICE_KEYS = ["token", "senderId", "registered", "online", "idle", "category"];
const UPSTREAM_KEYS = ["senderId", "from", "category", "data", "messageId", "timeToLive"];

/** Thrown by sendUpstream when the sender's queue is full (HTTP 503). */
export class UpstreamQueueFullError extends InvalidOptionError {}

export function createControl(core: EmulatorCore, generator: UpstreamGenerator): EmulatorControl {
  let upstreamSeq = 0;
  const deviceView = (token: string): DeviceView => {
    const device = core.registry.refreshed(token, core.clock());
    if (device === undefined) throw new NotFoundError(`device ${token}`);
    return viewOf(device);
  };
  const knownSender = (senderId: string, path: string): string => {
    if (!core.bySender.has(senderId)) throw new InvalidOptionError(`${path}: unknown sender "${senderId}"`);
    return senderId;
  };
  const applyStopReading = (): void => {
    const target = core.faults.stopReadingConnectionId;
    for (const conn of core.connections.values()) conn.setStopReading(conn.id === target);
  };

  const control: EmulatorControl = {
    health: () => ({ status: "ok" }),

    stats: () => {
      core.ledgers.flush();
      const connections: ConnectionView[] = [];
      for (const conn of core.connections.values())
        connections.push(conn.view(core.router.unackedCount(conn)));
      const bySender: Record<string, SenderStats> = {};
      for (const senderId of core.stats.senderIds()) {
        const live = core.bySender.get(senderId) ?? new Set<Connection>();
        let pending = 0;
        for (const conn of live) pending += conn.pending;
        const counters = core.stats.senderCounters(senderId);
        if (counters === undefined) continue;
        bySender[senderId] = {
          connections: live.size,
          pending,
          queuedUpstream: core.router.queued(senderId),
          awaitingNewConnection: core.router.awaitingNewConnection(senderId),
          ...counters,
        };
      }
      return {
        connections,
        counters: core.stats.globalCounters(),
        bySender,
        devices: core.registry.size,
        seed: core.config.seed,
      };
    },

    reset: () => {
      core.registry.clear();
      core.ledgers.clear();
      core.stats.reset();
      core.faults.clear();
      core.refreshLatency();
      applyStopReading();
      core.router.clear();
      core.logger.info({}, "reset");
      return { status: "ok" };
    },

    devices: () => {
      const now = core.clock();
      core.registry.purgeAll(now);
      return [...core.registry.all()].map(viewOf);
    },

    addDevice: (body) => {
      const obj = requireRecord(body, "device");
      rejectUnknownKeys(obj, NEW_DEVICE_KEYS, "device");
      const spec: NewDevice = { token: readString(obj.token, "device.token") };
      if (obj.senderId !== undefined)
        spec.senderId = knownSender(readString(obj.senderId, "device.senderId"), "device.senderId");
      if (obj.registered !== undefined) spec.registered = readBool(obj.registered, "device.registered");
      if (obj.online !== undefined) spec.online = readBool(obj.online, "device.online");
      if (obj.idle !== undefined) spec.idle = readBool(obj.idle, "device.idle");
      if (obj.category !== undefined) spec.category = readString(obj.category, "device.category", 256);
      return viewOf(core.registry.add(spec));
    },

    device: (token) => {
      const device = core.registry.refreshed(token, core.clock());
      if (device === undefined) return undefined;
      const ledger = core.ledgers.device(token);
      return { ...viewOf(device), ledger: ledger === undefined ? [] : [...ledger.entries()] };
    },

    unregisterDevice: (token) => viewOf(core.registry.unregister(token)),
    registerDevice: (token) => viewOf(core.registry.register(token)),
    setDeviceOffline: (token) => viewOf(core.registry.setOnline(token, false)),
    setDeviceOnline: (token) => {
      core.registry.setOnline(token, true);
      return deviceView(token);
    },
    setDeviceIdle: (token) => viewOf(core.registry.setIdle(token, true)),
    setDeviceActive: (token) => {
      core.registry.setIdle(token, false);
      return deviceView(token);
    },
    rotateDevice: (token, body) => {
      const obj = body === undefined || body === null ? {} : requireRecord(body, "rotate");
      rejectUnknownKeys(obj, ["canonicalToken"], "rotate");
      const canonical =
        obj.canonicalToken === undefined
          ? undefined
          : readString(obj.canonicalToken, "rotate.canonicalToken");
      return viewOf(core.registry.rotate(token, canonical));
    },

    ledger: (options) => core.ledgers.summary(options?.messageIds === true),

    sendUpstream: (body) => {
      const obj = requireRecord(body, "upstream");
      rejectUnknownKeys(obj, UPSTREAM_KEYS, "upstream");
      const from = readString(obj.from, "upstream.from");
      const device = core.registry.get(from);
      const senderId =
        obj.senderId !== undefined
          ? knownSender(readString(obj.senderId, "upstream.senderId"), "upstream.senderId")
          : (device?.senderId ?? core.config.senders[0]?.senderId ?? "");
      const category =
        obj.category === undefined
          ? (device?.category ?? "com.example.app")
          : readString(obj.category, "upstream.category");
      const data: Record<string, string> = {};
      if (obj.data !== undefined) {
        const d = requireRecord(obj.data, "upstream.data");
        for (const [k, v] of Object.entries(d)) data[k] = readString(v, `upstream.data.${k}`, 4096);
      }
      upstreamSeq++;
      const messageId =
        obj.messageId === undefined
          ? `up-${core.config.seed}-${upstreamSeq}`
          : readString(obj.messageId, "upstream.messageId", 512);
      const ttl =
        obj.timeToLive === undefined
          ? undefined
          : readInt(obj.timeToLive, "upstream.timeToLive", 0, DEFAULT_UPSTREAM_TTL_SECONDS);
      const payload: Record<string, unknown> = { category, data, message_id: messageId, from };
      if (ttl !== undefined) payload.time_to_live = ttl;
      const now = core.clock();
      const queued = core.router.enqueue({
        kind: "upstream",
        senderId,
        from,
        messageId,
        json: JSON.stringify(payload),
        expiresAt: now + (ttl ?? DEFAULT_UPSTREAM_TTL_SECONDS) * 1000,
        sends: 0,
      });
      if (!queued) throw new UpstreamQueueFullError(`the upstream queue of sender ${senderId} is full`);
      core.stats.forSender(senderId).inc("upstreamQueued");
      return { messageId };
    },

    setUpstreamGenerator: (body) => {
      const options = readUpstreamGenerator(body, "generator", core.config.senders);
      generator.set(options);
      return { generator: options };
    },

    drain: (target) => {
      const obj = requireRecord(target, "drain");
      const drained: string[] = [];
      const grace = core.settings.drainGraceMs;
      if (obj.connectionId !== undefined) {
        rejectUnknownKeys(obj, ["connectionId"], "drain");
        const conn = core.connections.get(readString(obj.connectionId, "drain.connectionId"));
        if (conn === undefined) throw new NotFoundError(`connection ${String(obj.connectionId)}`);
        if (conn.drain(grace)) drained.push(conn.id);
      } else if (obj.senderId !== undefined) {
        rejectUnknownKeys(obj, ["senderId"], "drain");
        const senderId = knownSender(readString(obj.senderId, "drain.senderId"), "drain.senderId");
        for (const conn of [...(core.bySender.get(senderId) ?? [])])
          if (conn.drain(grace)) drained.push(conn.id);
      } else if (obj.all === true) {
        rejectUnknownKeys(obj, ["all"], "drain");
        for (const conn of [...core.connections.values()]) if (conn.drain(grace)) drained.push(conn.id);
      } else {
        throw new InvalidOptionError("drain needs { connectionId }, { senderId } or { all: true }");
      }
      core.logger.info({ drained }, "drain");
      return { drained };
    },

    setFaults: (body) => {
      const faults = readFaults(body);
      core.faults.set(faults, core.clock());
      core.refreshLatency();
      applyStopReading();
      core.logger.info({ faults: core.faults.view(core.clock()) }, "faults set");
      return core.faults.view(core.clock());
    },

    faults: () => core.faults.view(core.clock()),

    resetConnection: (connectionId) => {
      const conn = core.connections.get(connectionId);
      if (conn === undefined) throw new NotFoundError(`connection ${connectionId}`);
      if (conn.senderId !== "") core.stats.forSender(conn.senderId).inc("resets");
      else core.stats.global.resets++;
      conn.close("reset");
      return { reset: connectionId };
    },

    setConfig: (patch) => {
      core.updateSettings(applyRuntimePatch(core.settings, patch));
      core.logger.info({ settings: core.settings }, "config updated");
      return { ...core.settings };
    },

    config: () => ({ ...core.settings }),

    senders: () => core.config.senders.map((s) => ({ senderId: s.senderId })),
  };
  return control;
}
