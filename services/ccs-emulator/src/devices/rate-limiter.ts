import type { DeviceRateLimit } from "../config.ts";

/** Token-bucket state of one device: `messages` may arrive at once, refilled evenly over `perMs`. */
export interface RateState {
  tokens: number;
  at: number;
}

export function newRateState(limit: DeviceRateLimit, now: number): RateState {
  return { tokens: limit.messages, at: now };
}

/** Takes one message from the bucket; false when the device is over its rate (the message is refused). */
export function tryTake(state: RateState, limit: DeviceRateLimit, now: number): boolean {
  const elapsed = now - state.at;
  if (elapsed > 0) {
    state.tokens = Math.min(limit.messages, state.tokens + (elapsed * limit.messages) / limit.perMs);
    state.at = now;
  }
  if (state.tokens >= 1) {
    state.tokens -= 1;
    return true;
  }
  return false;
}
