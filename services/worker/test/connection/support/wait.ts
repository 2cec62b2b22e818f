// Waiting helpers: @ccs/testkit's poll-with-deadline plus an event waiter with a deadline.
export { waitFor } from "@ccs/testkit";

/** Resolves with the arguments of the next `event` on `emitter`, or rejects after timeoutMs. */
export function nextEvent<A extends unknown[]>(
  emitter: {
    on(event: string, l: (...args: A) => void): unknown;
    off(event: string, l: (...args: A) => void): unknown;
  },
  event: string,
  timeoutMs: number,
  filter: (...args: A) => boolean = () => true,
): Promise<A> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for event ${event}`));
    }, timeoutMs);
    const listener = (...args: A): void => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });
}
