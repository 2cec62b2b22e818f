import { InvalidOptionError } from "./errors.ts";

export function validatePort(port: number | undefined, where: string): void {
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65_535)) {
    throw new InvalidOptionError(`${where}: port must be an integer in 1..65535 (got ${port})`);
  }
}

export function validateTimeout(timeoutMs: number | undefined, where: string): void {
  if (timeoutMs !== undefined && (!Number.isFinite(timeoutMs) || timeoutMs <= 0)) {
    throw new InvalidOptionError(`${where}: readyTimeoutMs must be a positive number (got ${timeoutMs})`);
  }
}
