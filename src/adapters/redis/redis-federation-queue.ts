/**
 * The federation queue on Redis: held slots and claims in plain keys under one hash tag per
 * peer, delivery on BullMQ through ONE queue and one worker per process for all peers.
 *
 * Held slots keep no arrival order or time at rest. A peer's held slots are a zset of random slot
 * ids, all scored 0, so Redis orders them by id (a random order) and never by arrival; each
 * slot's bytes are a string named by its id (a random name, so key listings carry no order
 * either); nothing stores a time. A claim moves up to `max` ids into a claim zset of the same
 * shape in one Lua script and records the claim id in the peer's set of unsent claims; `send`
 * deletes the claim, its ids and its slot strings. Claims take the first slots by random id, so
 * under a backlog a slot waits a random number of rounds rather than in arrival order.
 *
 * The registry (`{P:fp}`, peer tag -> origin) names the peers that have held slots or unsent
 * claims, so that flushes and rebuilds find them; a peer with neither is dropped from it (with
 * its list of recently sent claim ids) when `peersWithTraffic` next looks. Under open federation
 * a client can name many relays, so nothing lasting is kept per peer: an idle peer leaves no key
 * and no connection behind, and a restart opens nothing per peer it ever had.
 *
 * What BullMQ stores: a sent batch is a job in the one delivery queue (`{P:fq}:batches:*`) whose
 * id is the claim id and whose data is the peer's origin and the signed, padded batch as base64;
 * the job hash also holds BullMQ's millisecond timestamps (created, processed, finished), its
 * attempt counts and, after a failure, the fixed reason "undelivered" (no stack trace).
 * Delivered jobs are deleted at once (removeOnComplete). Jobs that exhausted their attempts stay
 * as failed jobs: they are the dead letters, until replayed or dropped, at most
 * `maxDeadLetters` of them (the oldest go first). The queue also has an event stream capped at
 * about 100 entries (job ids and millisecond stream ids), a meta hash, and marker/lock keys. So
 * BullMQ records when batches left for a peer (the round timing the peer sees anyway), never
 * when a client forwarded a slot.
 *
 * Delivery: one BullMQ worker per process runs up to `concurrency` attempts at once, at most
 * `perPeer` of them for one peer; a batch whose peer already has that many running waits a while
 * (without using an attempt), so a peer that is slow or down cannot take every slot from the
 * others.
 *
 * Idempotency: a job id BullMQ already holds is not added again; a claim id is also remembered
 * in the peer's list of recently sent ids once queued (and once delivered, while its claim is
 * still listed as unsent), so a batch rebuilt from a claim that outlived a crash is queued at
 * most once even when its first job already completed and was deleted.
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
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from "bullmq";
import { randomBytes, toHex } from "../../protocol/bytes.js";
import type {
  DeadLetter,
  Deliver,
  DeliveryOptions,
  FederationQueue,
  OnDeadLetter,
  OnDeadLetterDropped,
  OutboundClaim,
} from "../../relay/ports/federation-queue.js";
import { RECENTLY_SENT, retryDelay } from "../../relay/retry-delay.js";
import { buf, connectRedis, inOrder, type RedisClient } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";
import { runScript } from "./redis-scripts.js";

/** The one delivery queue's name (its keys are `{P:fq}:batches:*`). */
export const DELIVERY_QUEUE = "batches";
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
/** How long a batch put off because its peer is busy waits: doubling each time, with jitter. */
const BUSY_WAIT: DeliveryOptions = { maxAttempts: 1, baseDelayMs: 500, maxDelayMs: 30_000 };

interface BatchData {
  /** The peer's origin. */
  p: string;
  /** The batch, base64 (BullMQ stores job data as JSON). */
  b: string;
}

export interface RedisFederationQueueOptions {
  /** Delivery attempts this process runs at once, all peers together (default 16). */
  concurrency?: number;
  /** Delivery attempts this process runs at once for one peer (default 4). */
  perPeer?: number;
}

interface Delivery {
  deliver: Deliver;
  options: DeliveryOptions;
  onDeadLetter: OnDeadLetter | undefined;
  onDropped: OnDeadLetterDropped | undefined;
}

/** The tag of a peer's keys: the first 32 hex digits of SHA-256(origin). */
export function peerTag(peer: string): string {
  return createHash("sha256").update(peer, "utf8").digest("hex").slice(0, 32);
}

export class RedisFederationQueue implements FederationQueue {
  #producer: RedisClient | undefined;
  #queue: Queue<BatchData> | undefined;
  #workerConnection: RedisClient | undefined;
  #worker: Worker<BatchData> | undefined;
  #delivery: Delivery | undefined;
  /** peer -> attempts this process is running for it (only peers with one running). */
  readonly #running = new Map<string, number>();
  readonly #concurrency: number;
  readonly #perPeer: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly url: string,
    private readonly keys: RedisKeys,
    options: RedisFederationQueueOptions = {},
  ) {
    this.#concurrency = options.concurrency ?? 16;
    this.#perPeer = options.perPeer ?? 4;
  }

  async hold(peer: string, slot: Uint8Array): Promise<void> {
    const tag = peerTag(peer);
    const keys = this.keys.federationPeer(tag);
    const id = toHex(randomBytes(16));
    // Registered before the slot is stored (a crash in between leaves nothing unfound) and
    // again after: a prune that raced with this looks again after it deleted the entry, and
    // either sees the slot or comes before this second write.
    const register = () => this.redis.hset(this.keys.federationPeers, tag, peer);
    await inOrder(this.redis, [
      register,
      () => runScript(this.redis, "fedHold", [keys.held, keys.entryPrefix + id, id, buf(slot)]),
      register,
    ]);
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
    const keys = this.keys.federationPeer(peerTag(claim.peer));
    // A cover-only batch's claim was never stored, so it cannot be rebuilt: nothing to forget
    // or remember. (Writing its id would leave a list behind for a peer the registry forgot,
    // such as a dynamic link that keeps its batches while idle.)
    if (claim.slots.length === 0 && !(await this.redis.sismember(keys.unsent, claim.id))) {
      await this.#enqueue(claim, batch);
      return;
    }
    if ((await this.redis.lpos(keys.sent, claim.id)) === null) {
      // If this process dies after the add, the claim stays unsent and is rebuilt and sent
      // again with the same job id, which BullMQ (or the sent list) drops.
      await this.#enqueue(claim, batch);
    }
    await runScript(this.redis, "fedSent", [
      keys.unsent,
      keys.claim(claim.id),
      keys.sent,
      claim.id,
      keys.entryPrefix,
      RECENTLY_SENT,
    ]);
  }

  async #enqueue(claim: OutboundClaim, batch: Uint8Array): Promise<void> {
    await this.#deliveryQueue().add(
      "batch",
      { p: claim.peer, b: buf(batch).toString("base64") },
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

  async startDelivery(
    deliver: Deliver,
    options: DeliveryOptions,
    onDeadLetter?: OnDeadLetter,
    onDeadLetterDropped?: OnDeadLetterDropped,
  ): Promise<void> {
    if (this.#delivery) return;
    if (!(options.maxAttempts >= 1)) throw new RangeError("maxAttempts must be at least 1");
    const delivery: Delivery = {
      deliver,
      options: { ...options },
      onDeadLetter,
      onDropped: onDeadLetterDropped,
    };
    this.#delivery = delivery;
    this.#worker = this.#startWorker(delivery);
  }

  async stopDelivery(): Promise<void> {
    this.#delivery = undefined;
    // Close waits for the jobs the worker is running; waiting and delayed jobs stay queued.
    await this.#worker?.close();
    this.#worker = undefined;
    this.#workerConnection?.disconnect();
    this.#workerConnection = undefined;
  }

  async deadLetters(): Promise<DeadLetter[]> {
    const found: { letter: DeadLetter; finishedOn: number }[] = [];
    for (const job of await this.#deliveryQueue().getFailed(0, -1)) {
      if (!job?.id) continue;
      found.push({
        letter: {
          id: job.id,
          peer: (job.data as BatchData).p,
          attempts: job.attemptsMade,
          batch: decodeBatch(job.data as BatchData),
        },
        finishedOn: job.finishedOn ?? job.timestamp,
      });
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

  /** Peers with held slots; peers with neither held slots nor unsent claims are forgotten. */
  async peersWithTraffic(): Promise<string[]> {
    const peers = Object.entries(await this.#peers());
    if (peers.length === 0) return [];
    const load = await this.#load(peers.map(([tag]) => tag));
    const idle = peers.filter((_, i) => load[i]!.held === 0 && load[i]!.unsent === 0);
    if (idle.length > 0) await this.#forget(idle);
    return peers
      .filter((_, i) => load[i]!.held > 0)
      .map(([, peer]) => peer)
      .sort();
  }

  /** Stops delivery and closes this queue's BullMQ connections (not the shared `redis`). */
  async close(): Promise<void> {
    await this.stopDelivery();
    await this.#queue?.close();
    this.#queue = undefined;
    this.#producer?.disconnect();
    this.#producer = undefined;
  }

  async #peers(): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.federationPeers);
  }

  /** Held slots and unsent claims of each peer tag, in one round trip. */
  async #load(tags: string[]): Promise<{ held: number; unsent: number }[]> {
    return Promise.all(
      tags.map(async (tag) => {
        const keys = this.keys.federationPeer(tag);
        const [held, unsent] = await Promise.all([
          this.redis.zcard(keys.held),
          this.redis.scard(keys.unsent),
        ]);
        return { held, unsent };
      }),
    );
  }

  /**
   * Drops idle peers from the registry and deletes their recently sent lists (only a claim still
   * listed as unsent can be sent again). The entries go first, then each peer is looked at
   * again: one that a concurrent `hold` gave a slot meanwhile is put back.
   */
  async #forget(idle: [tag: string, peer: string][]): Promise<void> {
    await this.redis.hdel(this.keys.federationPeers, ...idle.map(([tag]) => tag));
    const load = await this.#load(idle.map(([tag]) => tag));
    await Promise.all(
      idle.map(([tag, peer], i) =>
        load[i]!.held > 0 || load[i]!.unsent > 0
          ? this.redis.hset(this.keys.federationPeers, tag, peer)
          : this.redis.del(this.keys.federationPeer(tag).sent),
      ),
    );
  }

  #deliveryQueue(): Queue<BatchData> {
    if (!this.#queue) {
      this.#producer ??= connectRedis(this.url, { forBullMq: true });
      this.#queue = new Queue<BatchData>(DELIVERY_QUEUE, {
        connection: this.#producer,
        prefix: this.keys.federationQueuePrefix,
        streams: { events: { maxLen: EVENTS_MAX_LEN } },
      });
      this.#queue.on("error", () => undefined);
    }
    return this.#queue;
  }

  async #findFailed(id: string): Promise<Job<BatchData> | undefined> {
    if (!CLAIM_ID.test(id)) return undefined;
    const job = await this.#deliveryQueue().getJob(id);
    return job && (await job.isFailed()) ? job : undefined;
  }

  #startWorker(delivery: Delivery): Worker<BatchData> {
    // The queue object writes the queue's meta (the event stream cap) before any job runs.
    this.#deliveryQueue();
    this.#workerConnection ??= connectRedis(this.url, { forBullMq: true });
    const worker = new Worker<BatchData>(
      DELIVERY_QUEUE,
      async (job, token) => {
        const peer = job.data.p;
        const running = this.#running.get(peer) ?? 0;
        if (running >= this.#perPeer) {
          // Put off without using an attempt, longer each time it is put off again.
          const waits = Math.max(0, job.attemptsStarted - job.attemptsMade - 1);
          const wait = retryDelay(waits + 1, BUSY_WAIT);
          await job.moveToDelayed(Date.now() + wait, token);
          throw new DelayedError();
        }
        this.#running.set(peer, running + 1);
        try {
          await delivery.deliver(peer, decodeBatch(job.data));
        } catch {
          if (job.attemptsMade + 1 >= delivery.options.maxAttempts) {
            delivery.onDeadLetter?.(peer);
            throw new UnrecoverableError(UNDELIVERED);
          }
          throw new Error(UNDELIVERED);
        } finally {
          const left = (this.#running.get(peer) ?? 1) - 1;
          if (left > 0) this.#running.set(peer, left);
          else this.#running.delete(peer);
        }
        await this.#remember(peer, job.id!);
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
    worker.on("failed", (_job, error) => {
      if (error?.name === "UnrecoverableError") void this.#trim(delivery).catch(() => undefined);
    });
    return worker;
  }

  /**
   * Delivered: a claim rebuilt after a crash must not queue it again. Only a claim still listed
   * as unsent can be rebuilt, so only then is its id noted (nothing is written for a peer that
   * may have been forgotten meanwhile). Failing to note it must not fail (and repeat) a delivery
   * the peer acknowledged.
   */
  async #remember(peer: string, id: string): Promise<void> {
    const keys = this.keys.federationPeer(peerTag(peer));
    try {
      if (await this.redis.sismember(keys.unsent, id)) {
        await runScript(this.redis, "fedRemember", [keys.sent, id, RECENTLY_SENT]);
      }
    } catch {
      // See above.
    }
  }

  /** Deletes the oldest dead letters beyond `maxDeadLetters`, telling `onDropped` of each. */
  async #trim(delivery: Delivery): Promise<void> {
    const max = delivery.options.maxDeadLetters;
    if (max === undefined) return;
    const queue = this.#deliveryQueue();
    const excess = (await queue.getFailedCount()) - max;
    if (excess <= 0) return;
    for (const job of await queue.getJobs(["failed"], 0, excess - 1, true)) {
      // Another process trimming at the same moment may have taken it.
      if (job?.id && (await queue.remove(job.id)) === 1) delivery.onDropped?.();
    }
  }
}

function decodeBatch(data: BatchData): Uint8Array {
  return new Uint8Array(Buffer.from(data.b, "base64"));
}
