/**
 * The worker's pipeline runtime: provisions streams, turns slot grants into connection slots and
 * per-sender dispatchers, and shuts everything down in order. Collaborators come in as arguments
 * (the slot factory, the assignment source) so tests hand in fakes.
 */

import type { Subjects } from "@ccs/contract";
import { errorFields, type Logger } from "@ccs/telemetry";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { type AssignmentSource, grantKey, type SlotGrant } from "../assignment/assignment-source.ts";
import type { WorkerConfig } from "../config/worker-config.ts";
import type { ConnectionSlot } from "../connection/contract.ts";
import type { WorkerMetrics } from "../metrics.ts";
import { OutcomePublisher } from "./outcome-publisher.ts";
import { PubAckPublisher } from "./pub-ack-publisher.ts";
import { SenderDispatcher } from "./sender-dispatcher.ts";
import { ensureSenderConsumer, ensureStreams, workerSubjects } from "./streams.ts";

/** Builds the connection slot of a grant (main.ts wires the connection layer's createConnectionSlot). */
export type SlotFactory = (grant: SlotGrant) => ConnectionSlot;

export type PipelineState = "created" | "starting" | "running" | "stopping" | "stopped";

export type PipelineConfig = Pick<
  WorkerConfig,
  "workerId" | "subjectPrefix" | "streams" | "consumer" | "fetch" | "retry" | "limits" | "shutdown"
>;

export interface WorkerPipelineOptions {
  readonly nc: NatsConnection;
  readonly config: PipelineConfig;
  readonly slotFactory: SlotFactory;
  readonly assignment: AssignmentSource;
  readonly metrics: WorkerMetrics;
  readonly logger: Logger;
  /** Default true: create/update streams and consumers at start. */
  readonly provision?: boolean;
  readonly random?: () => number;
}

export class WorkerPipeline {
  readonly #o: WorkerPipelineOptions;
  readonly #log: Logger;
  readonly #subjects: Subjects;
  readonly #js: JetStreamClient;
  #jsm: JetStreamManager | undefined;
  readonly #pub: PubAckPublisher;
  readonly #publisher: OutcomePublisher;
  readonly #dispatchers = new Map<string, Promise<SenderDispatcher>>();
  readonly #slots = new Map<
    string,
    { grant: SlotGrant; slot: ConnectionSlot; dispatcher: SenderDispatcher }
  >();
  readonly #pendingGrants = new Set<Promise<void>>();
  #state: PipelineState = "created";
  #closing: Promise<void> | undefined;
  readonly #onGrant = (grant: SlotGrant): void => this.#track(this.#grant(grant));
  readonly #onRevoke = (grant: SlotGrant): void => this.#track(this.#revoke(grant));

  constructor(options: WorkerPipelineOptions) {
    this.#o = options;
    this.#log = options.logger.child({ component: "pipeline" });
    this.#subjects = workerSubjects(options.config);
    this.#js = jetstream(options.nc);
    this.#pub = new PubAckPublisher(options.nc);
    this.#publisher = new OutcomePublisher({
      pub: this.#pub,
      subjectFor: this.#subjects.out,
      metrics: options.metrics,
      logger: this.#log,
    });
  }

  get state(): PipelineState {
    return this.#state;
  }

  #setState(next: PipelineState): void {
    this.#log.info({ from: this.#state, to: next }, "pipeline state");
    this.#state = next;
  }

  async start(): Promise<void> {
    if (this.#state !== "created") throw new Error(`start() called while ${this.#state}`);
    this.#setState("starting");
    this.#jsm = await jetstreamManager(this.#o.nc);
    if (this.#o.provision !== false) {
      await ensureStreams(this.#jsm, this.#o.config.streams, this.#subjects, this.#log);
    }
    this.#o.assignment.on("grant", this.#onGrant);
    this.#o.assignment.on("revoke", this.#onRevoke);
    this.#setState("running");
    this.#o.assignment.start();
  }

  /** The dispatcher of a sender, once a grant created it (tests and diagnostics). */
  async dispatcher(senderId: string): Promise<SenderDispatcher | undefined> {
    return this.#dispatchers.get(senderId);
  }

  /** The slots running now with their grants (status pages). */
  slots(): readonly { readonly grant: SlotGrant; readonly slot: ConnectionSlot }[] {
    return [...this.#slots.values()].map(({ grant, slot }) => ({ grant, slot }));
  }

  /** Resolves once every grant received so far has its slot started. */
  async settled(): Promise<void> {
    while (this.#pendingGrants.size > 0) await Promise.allSettled([...this.#pendingGrants]);
  }

  #track(p: Promise<void>): void {
    const tracked = p
      .catch((err: unknown) => this.#log.error(errorFields(err), "assignment change failed"))
      .finally(() => this.#pendingGrants.delete(tracked));
    this.#pendingGrants.add(tracked);
  }

  async #grant(grant: SlotGrant): Promise<void> {
    if (this.#state !== "running") return;
    const key = grantKey(grant);
    if (this.#slots.has(key)) return;
    const dispatcher = await this.#dispatcherFor(grant.senderId);
    if (this.#state !== "running" || this.#slots.has(key)) return;
    // Lost while the dispatcher was being set up (its revoke found nothing to stop).
    if (grant.fence !== undefined && !grant.fence.isValid()) return;
    const slot = this.#o.slotFactory(grant);
    this.#slots.set(key, { grant, slot, dispatcher });
    dispatcher.addSlot(slot, grant.fence);
    slot.on("authFailed", (error, nextAttemptInMs) =>
      this.#log.error({ ...errorFields(error), ...grant, nextAttemptInMs }, "CCS authentication refused"),
    );
    slot.start();
    this.#log.info(
      { senderId: grant.senderId, slotIndex: grant.slotIndex, fencingToken: grant.fence?.token },
      "slot started",
    );
  }

  async #revoke(grant: SlotGrant): Promise<void> {
    const key = grantKey(grant);
    const entry = this.#slots.get(key);
    if (entry === undefined) return;
    this.#slots.delete(key);
    entry.dispatcher.removeSlot(entry.slot);
    await entry.slot.close(this.#o.config.shutdown.graceMs);
    this.#log.info({ senderId: grant.senderId, slotIndex: grant.slotIndex }, "slot revoked");
  }

  #dispatcherFor(senderId: string): Promise<SenderDispatcher> {
    let p = this.#dispatchers.get(senderId);
    if (p === undefined) {
      p = this.#createDispatcher(senderId);
      this.#dispatchers.set(senderId, p);
      p.catch(() => this.#dispatchers.delete(senderId));
    }
    return p;
  }

  async #createDispatcher(senderId: string): Promise<SenderDispatcher> {
    const { config } = this.#o;
    const jsm = this.#jsm;
    if (jsm === undefined) throw new Error("pipeline not started");
    const name = await ensureSenderConsumer(jsm, config.consumer, this.#subjects, senderId);
    const consumer = await this.#js.consumers.get(config.streams.down.name, name);
    return new SenderDispatcher({
      senderId,
      workerId: config.workerId,
      consumer,
      outcomes: this.#publisher,
      retry: config.retry,
      limits: {
        maxPayloadBytes: config.limits.maxPayloadBytes,
        maxDeliveries: config.consumer.maxDeliveries,
      },
      fetch: config.fetch,
      ackWaitMs: config.consumer.ackWaitMs,
      metrics: this.#o.metrics,
      logger: this.#o.logger,
      ...(this.#o.random === undefined ? {} : { random: this.#o.random }),
    });
  }

  /**
   * Graceful shutdown (idempotent): stop taking work, hand back unsent messages, let windows empty
   * within shutdown.graceMs, close the connections, wait for the last outcomes, close the rest.
   * The caller enforces shutdown.forceMs (process exit); `forceMs` here bounds the final waits.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const started = Date.now();
    const { graceMs, forceMs } = this.#o.config.shutdown;
    const left = (): number => Math.max(0, forceMs - (Date.now() - started));
    this.#setState("stopping");
    const errors: unknown[] = [];
    const step = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
        this.#log.error({ ...errorFields(err), step: name }, "shutdown step failed");
      }
    };
    this.#o.assignment.off("grant", this.#onGrant);
    this.#o.assignment.off("revoke", this.#onRevoke);
    await step("assignment", () => this.#o.assignment.stop());
    await step("grants", () => this.settled());
    const dispatchers = (await Promise.allSettled([...this.#dispatchers.values()]))
      .filter((r): r is PromiseFulfilledResult<SenderDispatcher> => r.status === "fulfilled")
      .map((r) => r.value);
    await step("drain", () => Promise.all(dispatchers.map((d) => d.drain(graceMs))));
    const slotGrace = Math.max(0, graceMs - (Date.now() - started));
    await step("slots", () => Promise.all([...this.#slots.values()].map((e) => e.slot.close(slotGrace))));
    this.#slots.clear();
    await step("dispatchers", () => Promise.all(dispatchers.map((d) => d.close(left()))));
    this.#publisher.close();
    this.#pub.close();
    this.#setState("stopped");
    if (errors.length > 0) this.#log.warn({ errors: errors.length }, "shutdown finished with errors");
  }
}
