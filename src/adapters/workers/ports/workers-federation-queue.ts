import { randomBytes, toHex } from "../../../protocol/bytes.js";
import type {
  DeadLetter,
  Deliver,
  DeliveryOptions,
  FederationQueue,
  OnDeadLetter,
  OnDeadLetterDropped,
  OutboundClaim,
} from "../../../relay/ports/federation-queue.js";
import { retryDelay } from "../../../relay/retry-delay.js";
import type { FederationObject } from "../objects/federation-object.js";
import { federationName } from "../object-names.js";
import type { FederationMessage, WorkerEnv } from "../worker-env.js";

interface Delivery {
  object: () => DurableObjectStub<FederationObject>;
  deliver: Deliver;
  options: DeliveryOptions;
  onDeadLetter: OnDeadLetter | undefined;
  onDropped: OnDeadLetterDropped | undefined;
  running: Set<Promise<void>>;
}

/**
 * Deliveries started in this isolate, by relay instance: the queue consumer runs in whichever
 * isolate the platform picks, and hands each message to the delivery of the relay that sent it.
 */
const deliveries = new Map<string, Delivery>();

/**
 * The federation queue on Workers: held slots, claims and waiting batches in the relay's
 * federation object; delivery through a Cloudflare Queue whose consumer (the Worker's `queue`
 * handler, `consumeOutbound`) attempts each batch and retries it with the platform's delayed
 * retry, backing off as on every backend. Retry delays are whole seconds there (the platform's
 * unit), rounded up. A batch that fails `maxAttempts` times becomes a dead letter in the
 * federation object; one the platform itself gives up on (after the consumer's `max_retries`)
 * arrives through the dead-letter queue (`consumeDeadLetters`) and ends up there too.
 *
 * @example
 * const queue = new WorkersFederationQueue(() => federationStub, env.FEDERATION_QUEUE, "shroud");
 */
export class WorkersFederationQueue implements FederationQueue {
  constructor(
    private readonly object: () => DurableObjectStub<FederationObject>,
    private readonly queue: Queue<FederationMessage>,
    private readonly instance: string,
  ) {}

  async hold(peer: string, slot: Uint8Array): Promise<void> {
    await this.object().hold(peer, slot);
  }

  async claim(peer: string, max: number): Promise<OutboundClaim> {
    const id = toHex(randomBytes(16));
    const count = Number.isNaN(max) ? 0 : Math.floor(max);
    const slots = count > 0 ? await this.object().claim(id, peer, count) : [];
    return { id, peer, slots };
  }

  async unsent(): Promise<OutboundClaim[]> {
    // Batches whose queue message was lost when the sender failed go out again first.
    for (const id of await this.object().notEnqueued()) await this.#enqueue(id);
    return this.object().unsent();
  }

  async #enqueue(id: string): Promise<void> {
    await this.queue.send({ ns: this.instance, id });
    await this.object().enqueued(id);
  }

  async send(claim: OutboundClaim, batch: Uint8Array): Promise<void> {
    if (await this.object().prepare(claim.id, claim.peer, batch)) await this.#enqueue(claim.id);
  }

  async startDelivery(
    deliver: Deliver,
    options: DeliveryOptions,
    onDeadLetter?: OnDeadLetter,
    onDeadLetterDropped?: OnDeadLetterDropped,
  ): Promise<void> {
    if (deliveries.has(this.instance)) return;
    deliveries.set(this.instance, {
      object: this.object,
      deliver,
      options,
      onDeadLetter,
      onDropped: onDeadLetterDropped,
      running: new Set(),
    });
  }

  async stopDelivery(): Promise<void> {
    const delivery = deliveries.get(this.instance);
    if (!delivery || delivery.object !== this.object) return;
    deliveries.delete(this.instance);
    while (delivery.running.size > 0) await Promise.allSettled([...delivery.running]);
  }

  deadLetters(): Promise<DeadLetter[]> {
    return this.object().deadLetters();
  }

  async replay(id: string): Promise<boolean> {
    if (!(await this.object().revive(id))) return false;
    await this.#enqueue(id);
    return true;
  }

  drop(id: string): Promise<boolean> {
    return this.object().drop(id);
  }

  peersWithTraffic(): Promise<string[]> {
    return this.object().peersWithTraffic();
  }
}

/** Seconds to wait before the next attempt: the platform retries in whole seconds. */
function retrySeconds(failed: number, options: DeliveryOptions): number {
  return Math.ceil(retryDelay(failed, options) / 1000);
}

async function attempt(delivery: Delivery, message: Message<FederationMessage>): Promise<void> {
  const object = delivery.object();
  const { id } = message.body;
  const outbound = await object.outbound(id);
  // Delivered, dropped or dead already (a duplicate message): nothing to do.
  if (!outbound) return message.ack();
  try {
    await delivery.deliver(outbound.peer, outbound.batch);
  } catch {
    const { maxAttempts, maxDeadLetters } = delivery.options;
    const failed = await object.failed(id, maxAttempts, maxDeadLetters);
    if (failed && !failed.dead) {
      return message.retry({ delaySeconds: retrySeconds(failed.attempts, delivery.options) });
    }
    if (failed?.dead) delivery.onDeadLetter?.(outbound.peer);
    for (let i = 0; i < (failed?.dropped ?? 0); i++) delivery.onDropped?.();
    return message.ack();
  }
  await object.delivered(id);
  message.ack();
}

/**
 * The consumer of the outbound queue: attempts every message's batch at once (peers in
 * parallel), through the delivery its relay started in this isolate. A message whose relay has
 * no delivery here, or whose attempt could not even be recorded, is retried by the platform;
 * past `max_retries` the platform moves it to the dead-letter queue.
 *
 * @example async queue(batch, env) { await consumeOutbound(batch); }
 */
export async function consumeOutbound(batch: MessageBatch<FederationMessage>): Promise<void> {
  await Promise.all(
    batch.messages.map(async (message) => {
      const delivery = deliveries.get(message.body?.ns);
      if (!delivery) return message.retry({ delaySeconds: 1 });
      const run = attempt(delivery, message).catch(() => message.retry({ delaySeconds: 1 }));
      delivery.running.add(run);
      try {
        await run;
      } finally {
        delivery.running.delete(run);
      }
    }),
  );
}

/**
 * The consumer of the dead-letter queue: the batch of each message becomes a dead letter of its
 * relay (told to the relay's delivery in this isolate, if any, for its metrics).
 *
 * @example if (batch.queue === QueueNames.deadLetter) await consumeDeadLetters(batch, env);
 */
export async function consumeDeadLetters(
  batch: MessageBatch<FederationMessage>,
  env: Pick<WorkerEnv, "FEDERATION">,
): Promise<void> {
  for (const message of batch.messages) {
    const { ns, id } = message.body ?? {};
    if (typeof ns !== "string" || typeof id !== "string") {
      message.ack();
      continue;
    }
    const object = env.FEDERATION.get(env.FEDERATION.idFromName(federationName(ns)));
    const delivery = deliveries.get(ns);
    const killed = await object.kill(id, delivery?.options.maxDeadLetters);
    if (killed) {
      delivery?.onDeadLetter?.(killed.peer);
      for (let i = 0; i < killed.dropped; i++) delivery?.onDropped?.();
    }
    message.ack();
  }
}
