// Upstream de-duplication markers in Redis: one key per published (kind, sender, from, message_id),
// `SET key 1 NX PX window` on every node; "published" when any answering node has the key (a node that
// restarted empty, or missed a write while down, cannot make a published message look new).

import { type KeySchema, QuorumError, type RedisNodes } from "@ccs/cluster";

export class DedupeStore {
  readonly windowMs: number;
  readonly #nodes: RedisNodes;
  readonly #keys: KeySchema;

  constructor(options: { readonly nodes: RedisNodes; readonly keys: KeySchema; readonly windowMs: number }) {
    this.#nodes = options.nodes;
    this.#keys = options.keys;
    this.windowMs = options.windowMs;
  }

  /**
   * True when a node says `digest` was already published. Needs an answer from a majority (or any node
   * that has the key): with fewer, a message could be published twice.
   * @throws QuorumError
   */
  async published(digest: string): Promise<boolean> {
    const key = this.#keys.upstreamDedupe(digest);
    const results = await this.#nodes.all((client) => client.exists(key));
    if (results.some((r) => r.ok && r.value === 1)) {
      return true;
    }
    const answered = results.filter((r) => r.ok).length;
    if (answered < this.#nodes.quorum) {
      throw new QuorumError(
        "dedupe check",
        answered,
        this.#nodes.quorum,
        results.map((r) => r.error),
      );
    }
    return false;
  }

  /**
   * Marks `digest` published for the window on every node; succeeds when a majority stored it.
   * @throws QuorumError
   */
  async markPublished(digest: string): Promise<void> {
    const key = this.#keys.upstreamDedupe(digest);
    await this.#nodes.majority("dedupe mark", (client) => client.set(key, "1", "PX", this.windowMs, "NX"));
  }
}
