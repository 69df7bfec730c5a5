/**
 * The federation queue on Redis: held slots and claims in plain keys under one hash tag per
 * peer, delivery on BullMQ with one queue per peer.
 *
 * Held slots keep no arrival order or time at rest. A peer's held slots are a zset of random slot
 * ids, all scored 0, so Redis orders them by id (a random order) and never by arrival; each
 * slot's bytes are a string named by its id (a random name, so key listings carry no order
 * either); nothing stores a time. A claim moves up to `max` ids into a claim zset of the same
 * shape in one Lua script and records the claim id in the peer's set of unsent claims; `send`
 * deletes the claim, its ids and its slot strings. Claims take the first slots by random id, so
 * under a backlog a slot waits a random number of rounds rather than in arrival order.
 *
 * What BullMQ stores: a sent batch is a job in the peer's queue (`{P:fq}:f<peer tag>:*`) whose id
 * is the claim id and whose data is the signed, padded batch as base64; the job hash also holds
 * BullMQ's millisecond timestamps (created, processed, finished), its attempt counts and, after a
 * failure, the fixed reason "undelivered" (no stack trace). Delivered jobs are deleted at once
 * (removeOnComplete). Jobs that exhausted their attempts stay as failed jobs: they are the dead
 * letters, until replayed or dropped. Each queue also has an event stream capped at about 100
 * entries (job ids and millisecond stream ids), a meta hash, and marker/lock keys. So BullMQ
 * records when batches left for a peer (the round timing the peer sees anyway), never when a
 * client forwarded a slot.
 *
 * Idempotency: a job id BullMQ already holds is not added again; a claim id is also remembered
 * in the peer's list of recently sent ids once queued and once delivered, so a batch rebuilt
 * from a claim that outlived a crash is queued at most once even when its first job already
 * completed and was deleted.
 *
 * Attempts: jobs carry a high attempt ceiling and the worker dead-letters a batch itself (an
 * UnrecoverableError) once it has failed `maxAttempts` times, so the options given to
 * `startDelivery` decide, also for batches queued by a process that never delivers. Delays come
 * from `retryDelay` (cryptographic jitter, capped at `maxDelayMs`) through a custom backoff.
 *
 * @example
 * const queue = new RedisFederationQueue(connectRedis(url), url, new RedisKeys());
 * await queue.startDelivery(deliver, { maxAttempts: 8, baseDelayMs: 500, maxDelayMs: 60_000 });
 */
import { createHash } from "node:crypto";
import { Queue, UnrecoverableError, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import { randomBytes, toHex } from "../../protocol/bytes.js";
import type {
  DeadLetter,
  Deliver,
  DeliveryOptions,
  FederationQueue,
  OnDeadLetter,
  OutboundClaim,
} from "../../relay/ports/federation-queue.js";
import { RECENTLY_SENT, retryDelay } from "../../relay/retry-delay.js";
import { buf, connectRedis } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";
import { runScript } from "./redis-scripts.js";

/** Name of the custom backoff strategy the workers implement. */
const BACKOFF = "shroud-jitter";
/** Attempts BullMQ would allow; the worker dead-letters after `maxAttempts` itself. */
const ATTEMPTS_CEILING = 1_000_000;
/** The only failure reason stored: delivery errors may name addresses. */
const UNDELIVERED = "undelivered";
const EVENTS_MAX_LEN = 100;
const CLAIM_ID = /^[0-9a-f]{32}$/;
/** Most slots one claim may take (keeps a script's work bounded). */
const MAX_CLAIM = 100_000;

interface BatchData {
  /** The batch, base64 (BullMQ stores job data as JSON). */
  b: string;
}

export interface RedisFederationQueueOptions {
  /** How often delivery looks for peers other instances queued batches for (ms, default 5000). */
  discoveryIntervalMs?: number;
  /** Batches of one peer this process delivers at once (default 4). */
  concurrency?: number;
}

interface Delivery {
  deliver: Deliver;
  options: DeliveryOptions;
  onDeadLetter: OnDeadLetter | undefined;
}

/** The tag of a peer's keys and queue: the first 32 hex digits of SHA-256(origin). */
export function peerTag(peer: string): string {
  return createHash("sha256").update(peer, "utf8").digest("hex").slice(0, 32);
}

export class RedisFederationQueue implements FederationQueue {
  #producer: Redis | undefined;
  #workerConnection: Redis | undefined;
  /** peer tag -> its delivery queue (producer side). */
  readonly #queues = new Map<string, Queue<BatchData>>();
  /** peer tag -> this process's worker for its queue, while delivering. */
  readonly #workers = new Map<string, Worker<BatchData>>();
  /** Peer tags this process knows are in the registry. */
  readonly #registered = new Set<string>();
  #delivery: Delivery | undefined;
  #discovery: ReturnType<typeof setInterval> | undefined;
  readonly #discoveryIntervalMs: number;
  readonly #concurrency: number;

  constructor(
    private readonly redis: Redis,
    private readonly url: string,
    private readonly keys: RedisKeys,
    options: RedisFederationQueueOptions = {},
  ) {
    this.#discoveryIntervalMs = options.discoveryIntervalMs ?? 5000;
    this.#concurrency = options.concurrency ?? 4;
  }

  async hold(peer: string, slot: Uint8Array): Promise<void> {
    const keys = this.keys.federationPeer(await this.#register(peer));
    const id = toHex(randomBytes(16));
    await runScript(this.redis, "fedHold", [keys.held, keys.entryPrefix + id, id, buf(slot)]);
  }

  async claim(peer: string, max: number): Promise<OutboundClaim> {
    const id = toHex(randomBytes(16));
    const keys = this.keys.federationPeer(peerTag(peer));
    const count = Number.isNaN(max) ? 0 : Math.max(0, Math.min(MAX_CLAIM, Math.floor(max)));
    const slots =
      count === 0
        ? []
        : ((await runScript(
            this.redis,
            "fedClaim",
            [keys.held, keys.claim(id), keys.unsent, id, count, keys.entryPrefix],
            true,
          )) as Buffer[]);
    return { id, peer, slots: slots.map((slot) => new Uint8Array(slot)) };
  }

  async unsent(): Promise<OutboundClaim[]> {
    const claims: OutboundClaim[] = [];
    for (const [tag, peer] of Object.entries(await this.#peers())) {
      const keys = this.keys.federationPeer(tag);
      for (const id of await this.redis.smembers(keys.unsent)) {
        const ids = await this.redis.zrange(keys.claim(id), "0", "-1");
        // No ids: the claim was sent meanwhile.
        if (ids.length === 0) continue;
        const slots = await this.redis.mgetBuffer(...ids.map((slot) => keys.entryPrefix + slot));
        claims.push({
          id,
          peer,
          slots: slots.flatMap((slot) => (slot ? [new Uint8Array(slot)] : [])),
        });
      }
    }
    return claims;
  }

  async send(claim: OutboundClaim, batch: Uint8Array): Promise<void> {
    if (!CLAIM_ID.test(claim.id)) throw new RangeError("invalid claim id");
    const tag = await this.#register(claim.peer);
    const keys = this.keys.federationPeer(tag);
    if ((await this.redis.lpos(keys.sent, claim.id)) === null) {
      // If this process dies after the add, the claim stays unsent and is rebuilt and sent
      // again with the same job id, which BullMQ (or the sent list) drops.
      await this.#queue(tag).add(
        "batch",
        { b: buf(batch).toString("base64") },
        {
          jobId: claim.id,
          attempts: ATTEMPTS_CEILING,
          backoff: { type: BACKOFF },
          removeOnComplete: true,
          removeOnFail: false,
          stackTraceLimit: 0,
        },
      );
    }
    await runScript(this.redis, "fedSent", [
      keys.unsent,
      keys.claim(claim.id),
      keys.sent,
      claim.id,
      keys.entryPrefix,
      RECENTLY_SENT,
    ]);
    if (this.#delivery) this.#ensureWorker(this.#delivery, tag, claim.peer);
  }

  async startDelivery(
    deliver: Deliver,
    options: DeliveryOptions,
    onDeadLetter?: OnDeadLetter,
  ): Promise<void> {
    if (this.#delivery) return;
    if (!(options.maxAttempts >= 1)) throw new RangeError("maxAttempts must be at least 1");
    const delivery: Delivery = { deliver, options: { ...options }, onDeadLetter };
    this.#delivery = delivery;
    this.#discovery = setInterval(
      () => void this.#discover(delivery).catch(() => undefined),
      this.#discoveryIntervalMs,
    );
    await this.#discover(delivery);
  }

  async stopDelivery(): Promise<void> {
    clearInterval(this.#discovery);
    this.#discovery = undefined;
    this.#delivery = undefined;
    // Close waits for the jobs each worker is running; waiting and delayed jobs stay queued.
    await Promise.all([...this.#workers.values()].map((worker) => worker.close()));
    this.#workers.clear();
    this.#workerConnection?.disconnect();
    this.#workerConnection = undefined;
  }

  async deadLetters(): Promise<DeadLetter[]> {
    const found: { letter: DeadLetter; finishedOn: number }[] = [];
    for (const [tag, peer] of Object.entries(await this.#peers())) {
      for (const job of await this.#queue(tag).getFailed(0, -1)) {
        if (!job?.id) continue;
        found.push({
          letter: { id: job.id, peer, attempts: job.attemptsMade, batch: decodeBatch(job) },
          finishedOn: job.finishedOn ?? job.timestamp,
        });
      }
    }
    found.sort((a, b) => a.finishedOn - b.finishedOn || (a.letter.id < b.letter.id ? -1 : 1));
    return found.map((f) => f.letter);
  }

  async replay(id: string): Promise<boolean> {
    const job = await this.#findFailed(id);
    if (!job) return false;
    await job.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
    return true;
  }

  async drop(id: string): Promise<boolean> {
    const job = await this.#findFailed(id);
    if (!job) return false;
    await job.remove();
    return true;
  }

  async peersWithTraffic(): Promise<string[]> {
    const peers = Object.entries(await this.#peers());
    if (peers.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const [tag] of peers) pipeline.zcard(this.keys.federationPeer(tag).held);
    const counts = (await pipeline.exec()) ?? [];
    return peers
      .filter((_, i) => {
        const [error, count] = counts[i] ?? [];
        if (error) throw error;
        return Number(count) > 0;
      })
      .map(([, peer]) => peer)
      .sort();
  }

  /** Stops delivery and closes this queue's BullMQ connections (not the shared `redis`). */
  async close(): Promise<void> {
    await this.stopDelivery();
    await Promise.all([...this.#queues.values()].map((queue) => queue.close()));
    this.#queues.clear();
    this.#producer?.disconnect();
    this.#producer = undefined;
  }

  async #peers(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.federationPeers);
  }

  /** Records the peer in the registry (once per process), so every instance's delivery finds it. */
  async #register(peer: string): Promise<string> {
    const tag = peerTag(peer);
    if (!this.#registered.has(tag)) {
      await this.redis.hset(this.keys.federationPeers, tag, peer);
      this.#registered.add(tag);
    }
    return tag;
  }

  #queue(tag: string): Queue<BatchData> {
    let queue = this.#queues.get(tag);
    if (!queue) {
      this.#producer ??= connectRedis(this.url, { forBullMq: true });
      queue = new Queue<BatchData>(`f${tag}`, {
        connection: this.#producer,
        prefix: this.keys.federationQueuePrefix,
        streams: { events: { maxLen: EVENTS_MAX_LEN } },
      });
      queue.on("error", () => undefined);
      this.#queues.set(tag, queue);
    }
    return queue;
  }

  async #findFailed(id: string): Promise<Job<BatchData> | undefined> {
    if (!CLAIM_ID.test(id)) return undefined;
    for (const tag of Object.keys(await this.#peers())) {
      const job = await this.#queue(tag).getJob(id);
      if (job && (await job.isFailed())) return job;
    }
    return undefined;
  }

  async #discover(delivery: Delivery): Promise<void> {
    const peers = await this.#peers();
    for (const [tag, peer] of Object.entries(peers)) this.#ensureWorker(delivery, tag, peer);
  }

  #ensureWorker(delivery: Delivery, tag: string, peer: string): void {
    // A discovery that outlived its delivery session starts nothing.
    if (this.#delivery !== delivery || this.#workers.has(tag)) return;
    // The queue object writes the queue's meta (the event stream cap) before any job runs.
    const queue = this.#queue(tag);
    this.#workerConnection ??= connectRedis(this.url, { forBullMq: true });
    const sent = this.keys.federationPeer(tag).sent;
    const worker = new Worker<BatchData>(
      queue.name,
      async (job) => {
        try {
          await delivery.deliver(peer, decodeBatch(job));
        } catch {
          if (job.attemptsMade + 1 >= delivery.options.maxAttempts) {
            delivery.onDeadLetter?.(peer);
            throw new UnrecoverableError(UNDELIVERED);
          }
          throw new Error(UNDELIVERED);
        }
        // Delivered: a claim rebuilt after a crash must not queue it again. Failing to note it
        // must not fail (and repeat) a delivery the peer acknowledged.
        await runScript(this.redis, "fedRemember", [sent, job.id!, RECENTLY_SENT]).catch(
          () => undefined,
        );
      },
      {
        connection: this.#workerConnection,
        prefix: this.keys.federationQueuePrefix,
        concurrency: this.#concurrency,
        settings: { backoffStrategy: (failed: number) => retryDelay(failed, delivery.options) },
      },
    );
    // Failures are handled by retries and dead letters; the events would otherwise crash.
    worker.on("error", () => undefined);
    worker.on("failed", () => undefined);
    this.#workers.set(tag, worker);
  }
}

function decodeBatch(job: Job<BatchData>): Uint8Array {
  return new Uint8Array(Buffer.from(job.data.b, "base64"));
}
