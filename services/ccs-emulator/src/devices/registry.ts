import { randomBytes } from "node:crypto";
import { isWellFormedRegistrationToken, MAX_COLLAPSE_KEYS_PER_DEVICE } from "@ccs/ccs-protocol";
import type { DeviceRateLimit } from "../config.ts";
import { InvalidOptionError, NotFoundError } from "../errors.ts";
import type { CounterPair, Stats } from "../stats.ts";
import type { Device, DeviceMessage } from "./device.ts";
import type { Ledgers } from "./ledger.ts";
import { newRateState, tryTake } from "./rate-limiter.ts";

/** `category` of devices that were not given one. */
export const DEFAULT_DEVICE_CATEGORY = "com.example.app";
/** Longest chain of rotations followed to the canonical token. */
export const MAX_CANONICAL_HOPS = 16;

export type Resolution =
  /** Deliver to `device`; `canonical` is set when `to` was rotated (ACK carries it as registration_id). */
  | { kind: "device"; device: Device; canonical: string | undefined }
  | { kind: "unknown" }
  | { kind: "unregistered" }
  | { kind: "full" };

export interface NewDevice {
  token: string;
  senderId?: string;
  registered?: boolean;
  online?: boolean;
  idle?: boolean;
  category?: string;
}

export interface RegistryHooks {
  /** A message reached a device (now, or when the device came online/active). */
  delivered(device: Device, message: DeviceMessage): void;
}

/**
 * Simulated devices: registration, presence, canonical tokens, and the messages held for offline or
 * idle devices (time_to_live expiry, collapse keys, delay_while_idle). Bounded: at most `maxDevices`
 * devices and `maxHeld` held messages per device.
 */
export class DeviceRegistry {
  readonly #devices = new Map<string, Device>();
  readonly #maxDevices: number;
  readonly #maxHeld: number;
  readonly #ledgers: Ledgers;
  readonly #stats: Stats;
  readonly #hooks: RegistryHooks;
  readonly #clock: () => number;

  constructor(options: {
    maxDevices: number;
    maxHeld: number;
    ledgers: Ledgers;
    stats: Stats;
    hooks: RegistryHooks;
    clock: () => number;
  }) {
    this.#clock = options.clock;
    this.#maxDevices = options.maxDevices;
    this.#maxHeld = options.maxHeld;
    this.#ledgers = options.ledgers;
    this.#stats = options.stats;
    this.#hooks = options.hooks;
  }

  get size(): number {
    return this.#devices.size;
  }

  get(token: string): Device | undefined {
    return this.#devices.get(token);
  }

  all(): IterableIterator<Device> {
    return this.#devices.values();
  }

  /** Where a downstream message to `to` goes. Auto-registers a well-formed unknown token when asked to. */
  resolve(to: string, autoRegister: boolean, senderId: string): Resolution {
    let device = this.#devices.get(to);
    if (device === undefined) {
      if (!autoRegister || !isWellFormedRegistrationToken(to)) return { kind: "unknown" };
      if (this.#devices.size >= this.#maxDevices) return { kind: "full" };
      device = this.#create({ token: to, senderId });
    }
    if (!device.registered) return { kind: "unregistered" };
    if (device.canonicalToken === undefined) {
      if (device.senderId === undefined) device.senderId = senderId;
      return { kind: "device", device, canonical: undefined };
    }
    let target = device;
    for (let hops = 0; target.canonicalToken !== undefined && hops < MAX_CANONICAL_HOPS; hops++) {
      const next = this.#devices.get(target.canonicalToken);
      if (next === undefined) break;
      target = next;
    }
    if (!target.registered) return { kind: "unregistered" };
    return { kind: "device", device: target, canonical: target.token === to ? undefined : target.token };
  }

  /** Rate check for one more message to `device` (null limit = always allowed). */
  allowRate(device: Device, limit: DeviceRateLimit | null, now: number): boolean {
    if (limit === null) return true;
    if (device.rate === null) device.rate = newRateState(limit, now);
    return tryTake(device.rate, limit, now);
  }

  /**
   * Delivers `message` at once when the device can take it, else holds it (or drops a ttl-0 one).
   * `counters`: those of `message.senderId`, when the caller has them at hand (saves a lookup).
   */
  accept(
    device: Device,
    message: DeviceMessage,
    now: number,
    counters: CounterPair = this.#stats.forSender(message.senderId),
  ): "delivered" | "held" | "dropped" {
    if (canTake(device, message)) {
      this.#deliver(device, message, now, counters);
      return "delivered";
    }
    if (message.nowOrNever) {
      counters.inc("droppedTtlZero");
      return "dropped";
    }
    this.#purgeExpired(device, now);
    const held = device.held;
    if (message.collapseKey !== undefined) {
      const same = held.findIndex(
        (m) => m.collapseKey === message.collapseKey && m.senderId === message.senderId,
      );
      if (same >= 0) {
        held.splice(same, 1);
        counters.inc("heldReplaced");
      } else if (distinctCollapseKeys(held) >= MAX_COLLAPSE_KEYS_PER_DEVICE) {
        const oldest = held.findIndex((m) => m.collapseKey !== undefined);
        if (oldest >= 0) {
          const [evicted] = held.splice(oldest, 1);
          if (evicted !== undefined) this.#stats.forSender(evicted.senderId).inc("heldReplaced");
        }
      }
    }
    if (held.length >= this.#maxHeld) {
      const [evicted] = held.splice(0, 1);
      if (evicted !== undefined) this.#stats.forSender(evicted.senderId).inc("heldReplaced");
    }
    held.push(message);
    counters.inc("held");
    return "held";
  }

  add(spec: NewDevice): Device {
    if (!isWellFormedRegistrationToken(spec.token)) {
      throw new InvalidOptionError(
        "token must be a well-formed registration token (8-4096 of [A-Za-z0-9_:-])",
      );
    }
    const existing = this.#devices.get(spec.token);
    if (existing !== undefined) {
      if (spec.senderId !== undefined) existing.senderId = spec.senderId;
      if (spec.category !== undefined) existing.category = spec.category;
      if (spec.registered !== undefined) existing.registered = spec.registered;
      if (spec.idle !== undefined) existing.idle = spec.idle;
      if (spec.online !== undefined) existing.online = spec.online;
      this.#flush(existing);
      return existing;
    }
    if (this.#devices.size >= this.#maxDevices) {
      throw new InvalidOptionError(`the device registry is full (${this.#maxDevices} devices)`);
    }
    return this.#create(spec);
  }

  unregister(token: string): Device {
    const device = this.#require(token);
    device.registered = false;
    device.held.length = 0;
    return device;
  }

  register(token: string): Device {
    const device = this.#require(token);
    device.registered = true;
    return device;
  }

  setOnline(token: string, online: boolean): Device {
    const device = this.#require(token);
    device.online = online;
    if (online) this.#flush(device);
    return device;
  }

  setIdle(token: string, idle: boolean): Device {
    const device = this.#require(token);
    device.idle = idle;
    if (!idle) this.#flush(device);
    return device;
  }

  /**
   * Replaces `token` by a canonical one (generated when not given): later messages to the old token are
   * ACKed with `registration_id` and delivered to the canonical device, which takes over held messages.
   */
  rotate(token: string, canonicalToken: string | undefined): Device {
    const device = this.#require(token);
    const canonical = canonicalToken ?? generateToken();
    if (canonical === token)
      throw new InvalidOptionError("canonicalToken must differ from the rotated token");
    if (!isWellFormedRegistrationToken(canonical)) {
      throw new InvalidOptionError(
        "canonicalToken must be a well-formed registration token (8-4096 of [A-Za-z0-9_:-])",
      );
    }
    let target = this.#devices.get(canonical);
    if (target === undefined) {
      if (this.#devices.size >= this.#maxDevices) {
        throw new InvalidOptionError(`the device registry is full (${this.#maxDevices} devices)`);
      }
      target = this.#create({
        token: canonical,
        ...(device.senderId === undefined ? {} : { senderId: device.senderId }),
        online: device.online,
        idle: device.idle,
        category: device.category,
      });
    }
    device.canonicalToken = canonical;
    const moved = device.held.splice(0);
    for (const m of moved) target.held.push(m);
    this.#flush(target);
    return device;
  }

  /** Drops held messages whose time_to_live has passed (also done lazily on every access). */
  purgeAll(now: number): void {
    for (const device of this.#devices.values()) if (device.held.length > 0) this.#purgeExpired(device, now);
  }

  /** The device with expired held messages removed first, so `held` counts are exact. */
  refreshed(token: string, now: number): Device | undefined {
    const device = this.#devices.get(token);
    if (device !== undefined && device.held.length > 0) this.#purgeExpired(device, now);
    return device;
  }

  clear(): void {
    this.#devices.clear();
  }

  #require(token: string): Device {
    const device = this.#devices.get(token);
    if (device === undefined) throw new NotFoundError(`device ${token}`);
    return device;
  }

  #create(spec: NewDevice): Device {
    const device: Device = {
      token: spec.token,
      senderId: spec.senderId,
      registered: spec.registered ?? true,
      online: spec.online ?? true,
      idle: spec.idle ?? false,
      canonicalToken: undefined,
      category: spec.category ?? DEFAULT_DEVICE_CATEGORY,
      held: [],
      rate: null,
    };
    this.#devices.set(spec.token, device);
    return device;
  }

  #deliver(
    device: Device,
    message: DeviceMessage,
    now: number,
    counters: CounterPair = this.#stats.forSender(message.senderId),
  ): void {
    counters.global.deliveredToDevices++;
    counters.sender.deliveredToDevices++;
    if (!this.#ledgers.record(device.token, message.senderId, message.messageId, message.collapseKey, now)) {
      counters.inc("ledgerOverflow");
    }
    this.#hooks.delivered(device, message);
  }

  /** Delivers every held message the device can take now, in order; keeps the others. */
  #flush(device: Device, now = this.#clock()): void {
    if (device.held.length === 0 || !device.registered) return;
    this.#purgeExpired(device, now);
    const keep: DeviceMessage[] = [];
    const deliver: DeviceMessage[] = [];
    for (const m of device.held) (canTake(device, m) ? deliver : keep).push(m);
    device.held = keep;
    for (const m of deliver) this.#deliver(device, m, now);
  }

  #purgeExpired(device: Device, now: number): void {
    let expired = 0;
    for (const m of device.held) if (m.expiresAt < now) expired++;
    if (expired === 0) return;
    device.held = device.held.filter((m) => {
      if (m.expiresAt >= now) return true;
      this.#stats.forSender(m.senderId).inc("heldExpired");
      return false;
    });
  }
}

function canTake(device: Device, message: DeviceMessage): boolean {
  return device.online && !(device.idle && message.delayWhileIdle);
}

function distinctCollapseKeys(held: readonly DeviceMessage[]): number {
  const keys = new Set<string>();
  for (const m of held) if (m.collapseKey !== undefined) keys.add(`${m.senderId}:${m.collapseKey}`);
  return keys.size;
}

/** A fresh token shaped like an FCM one: `<instance id>:APA91b<random>`. */
export function generateToken(): string {
  return `${randomBytes(16).toString("base64url").slice(0, 22)}:APA91b${randomBytes(101).toString("base64url")}`;
}
