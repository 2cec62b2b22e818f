// An UpstreamSink for tests: records every delivery a connection hands over and lets a test wait for
// the next one that matches.
import type { UpstreamDelivery, UpstreamSink } from "../../../src/connection/contract.ts";
import { waitFor } from "./wait.ts";

export class UpstreamInbox {
  readonly received: UpstreamDelivery[] = [];
  readonly sink: UpstreamSink = (delivery) => {
    this.received.push(delivery);
  };

  /** The first delivery (already received or still to come) that matches `accept`. */
  async next(
    accept: (d: UpstreamDelivery) => boolean = () => true,
    timeoutMs = 5_000,
  ): Promise<UpstreamDelivery> {
    return waitFor(() => this.received.find(accept), {
      timeoutMs,
      intervalMs: 10,
      description: "an upstream delivery",
    });
  }
}
