/**
 * What the bench reads from the two federated relays' Redis, from outside the relays: slots A
 * holds for B, envelopes B took from A's batches, items visible in B's inboxes, and the link's
 * batch counters. Reading keys and metrics changes nothing in either relay.
 */
import type { Redis } from "ioredis";
import type { Inbox } from "../../src/client/inbox.js";
import { peerTag } from "../../src/adapters/redis/redis-federation-queue.js";
import { DEFAULT_ROUND_SHARDS } from "../../src/adapters/redis/redis-round-pool.js";
import { RedisKeys } from "../../src/adapters/redis/redis-keys.js";
import { RedisMetrics } from "../../src/adapters/redis/redis-metrics.js";
import { normalizeOrigin } from "../../src/protocol/descriptor.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import type { FederationPair } from "./federation-pair.js";

/** Batch counters of the link A -> B, from both relays' metrics. */
export interface LinkCounters {
  /** Batches A built and queued for B (one or more per round, cover included). */
  sent: number;
  /** Batches B acknowledged to A. */
  delivered: number;
  /** Failed delivery attempts A made (each retried). */
  failures: number;
  /** Batches from A that B accepted. */
  received: number;
  /** Scheduled round closes A and B ran (each close also flushes that relay's batches). */
  roundsA: number;
  roundsB: number;
}

export class FederationProbe {
  readonly #keysA: RedisKeys;
  readonly #keysB: RedisKeys;
  readonly #metricsA: RedisMetrics;
  readonly #metricsB: RedisMetrics;
  readonly #heldKey: string;
  readonly #peerB: { peer: string };
  readonly #peerA: { peer: string };

  constructor(private readonly pair: FederationPair) {
    this.#keysA = new RedisKeys(pair.a.prefix);
    this.#keysB = new RedisKeys(pair.b.prefix);
    this.#metricsA = new RedisMetrics(pair.a.admin, this.#keysA);
    this.#metricsB = new RedisMetrics(pair.b.admin, this.#keysB);
    const peerB = normalizeOrigin(pair.b.url);
    this.#heldKey = this.#keysA.federationPeer(peerTag(peerB)).held;
    this.#peerB = { peer: peerB };
    this.#peerA = { peer: normalizeOrigin(pair.a.url) };
  }

  /** Forwarded envelopes A holds for B, not yet claimed into a batch. */
  heldAtA(): Promise<number> {
    return this.pair.a.admin.zcard(this.#heldKey);
  }

  /** Envelopes from batches that B opened and handled as deposits (a counter, never resets). */
  depositsTakenAtB(): Promise<number> {
    return this.#metricsB.counter(MetricName.requests, {
      kind: "forwarded_deposit",
      status: "handled",
    });
  }

  /** Items stored in these inboxes on B: deposits a round close at B has made visible. */
  async visibleAtB(inboxes: readonly Inbox[]): Promise<number> {
    const pipeline = this.pair.b.admin.pipeline();
    for (const inbox of inboxes) pipeline.zcard(this.#keysB.inbox(inbox.inboxId).items);
    const counts = (await pipeline.exec()) ?? [];
    return counts.reduce((sum, [error, count]) => {
      if (error) throw error;
      return sum + Number(count);
    }, 0);
  }

  /** Deposits waiting in B's open round (over its round shards). */
  async pendingAtB(): Promise<number> {
    const shards = Array.from({ length: DEFAULT_ROUND_SHARDS }, (_, s) =>
      this.pair.b.admin.zcard(this.#keysB.roundShard(s).open),
    );
    return (await Promise.all(shards)).reduce((sum, count) => sum + count, 0);
  }

  /**
   * When A's and B's round schedules fire next (ms since the epoch): the score of the BullMQ
   * job scheduler "close-round" in each relay's round queue; undefined if it is not there.
   */
  async nextRounds(): Promise<{ a: number | undefined; b: number | undefined }> {
    const next = async (admin: Redis, keys: RedisKeys) => {
      const score = await admin.zscore(`${keys.queuePrefix}:rounds:repeat`, "close-round");
      return score === null ? undefined : Number(score);
    };
    const [a, b] = await Promise.all([
      next(this.pair.a.admin, this.#keysA),
      next(this.pair.b.admin, this.#keysB),
    ]);
    return { a, b };
  }

  async link(): Promise<LinkCounters> {
    const [sent, delivered, failures, received, roundsA, roundsB] = await Promise.all([
      this.#metricsA.counter(MetricName.federationBatchesSent, this.#peerB),
      this.#metricsA.counter(MetricName.federationBatchesDelivered, this.#peerB),
      this.#metricsA.counter(MetricName.federationDeliveryFailures, this.#peerB),
      this.#metricsB.counter(MetricName.federationBatchesReceived, this.#peerA),
      this.#metricsA.counter(MetricName.roundRuns),
      this.#metricsB.counter(MetricName.roundRuns),
    ]);
    return { sent, delivered, failures, received, roundsA, roundsB };
  }
}

/** What happened on the link between two readings. */
export function linkDelta(before: LinkCounters, after: LinkCounters): LinkCounters {
  return {
    sent: after.sent - before.sent,
    delivered: after.delivered - before.delivered,
    failures: after.failures - before.failures,
    received: after.received - before.received,
    roundsA: after.roundsA - before.roundsA,
    roundsB: after.roundsB - before.roundsB,
  };
}
