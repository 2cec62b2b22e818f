// A slot is one of a sender's connections: sender "123" wanting 3 connections has slots 123:0..123:2.

import { isValidSenderId } from "@ccs/contract";
import { InvalidOptionError } from "./errors.ts";

/** `<senderId>:<index>`. */
export type SlotId = string;

export interface SlotRef {
  readonly senderId: string;
  readonly index: number;
}

export function slotId(senderId: string, index: number): SlotId {
  if (!isValidSenderId(senderId)) {
    throw new InvalidOptionError(`invalid sender id ${JSON.stringify(senderId)}`);
  }
  if (!Number.isInteger(index) || index < 0) {
    throw new InvalidOptionError(`invalid slot index ${index}`);
  }
  return `${senderId}:${index}`;
}

export function parseSlotId(id: SlotId): SlotRef {
  const at = id.lastIndexOf(":");
  const senderId = id.slice(0, at);
  const index = Number(id.slice(at + 1));
  if (at <= 0 || !isValidSenderId(senderId) || !Number.isInteger(index) || index < 0) {
    throw new InvalidOptionError(`invalid slot id ${JSON.stringify(id)}`);
  }
  return { senderId, index };
}

/** Every slot of the given senders, sorted (sender id, then index). */
export function slotsOf(
  senders: Iterable<{ readonly senderId: string; readonly connections: number }>,
): SlotId[] {
  const out: SlotId[] = [];
  const sorted = [...senders].sort((a, b) =>
    a.senderId < b.senderId ? -1 : a.senderId > b.senderId ? 1 : 0,
  );
  for (const sender of sorted) {
    for (let i = 0; i < sender.connections; i++) {
      out.push(slotId(sender.senderId, i));
    }
  }
  return out;
}
