import type { RateState } from "./rate-limiter.ts";

/** A downstream message on its way to a device (held while the device cannot take it). */
export interface DeviceMessage {
  senderId: string;
  messageId: string;
  /** The token the app server addressed (before canonical resolution). */
  to: string;
  collapseKey: string | undefined;
  /** Epoch ms after which a held copy is dropped. */
  expiresAt: number;
  /** time_to_live was 0: deliver now or never. */
  nowOrNever: boolean;
  delayWhileIdle: boolean;
  receiptRequested: boolean;
  acceptedAt: number;
}

/** A simulated device. Mutated only by the DeviceRegistry. */
export interface Device {
  readonly token: string;
  senderId: string | undefined;
  registered: boolean;
  online: boolean;
  idle: boolean;
  /** Set when the token was rotated: messages to it are ACKed with this `registration_id`. */
  canonicalToken: string | undefined;
  /** `category` (app package) of the device's upstream messages and receipts. */
  category: string;
  /** Messages waiting for the device to come online (or active), oldest first. */
  held: DeviceMessage[];
  rate: RateState | null;
}

export interface DeviceView {
  token: string;
  senderId?: string;
  registered: boolean;
  online: boolean;
  idle: boolean;
  canonicalToken?: string;
  category: string;
  held: number;
}

export function viewOf(device: Device): DeviceView {
  const view: DeviceView = {
    token: device.token,
    registered: device.registered,
    online: device.online,
    idle: device.idle,
    category: device.category,
    held: device.held.length,
  };
  if (device.senderId !== undefined) view.senderId = device.senderId;
  if (device.canonicalToken !== undefined) view.canonicalToken = device.canonicalToken;
  return view;
}
