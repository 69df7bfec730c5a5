/**
 * Helpers of the Redis process tests: what a relay left in Redis. The relays themselves come
 * from testkit/relay-process.ts, clients that survive restarts from testkit/resilient-client.ts.
 */
import type { RedisClient } from "../../src/adapters/redis/redis-connection.js";
import { RedisKeys } from "../../src/adapters/redis/redis-keys.js";
import { prefixKeys } from "../../src/adapters/redis/redis-prefix.js";
import { DEFAULT_ROUND_SHARDS } from "../../src/adapters/redis/redis-round-pool.js";

/**
 * What the round pool still holds in any round shard: open or closed rounds, their entries,
 * pending usage (every key of the pool but the record of its shard count).
 */
export async function poolLeftovers(redis: RedisClient, prefix: string): Promise<string[]> {
  const keys = new RedisKeys(prefix);
  const shards = Number(await redis.zscore(keys.roundShardCount, "shards")) || DEFAULT_ROUND_SHARDS;
  const named = Array.from({ length: shards }, (_, s) => keys.roundShard(s)).flatMap((shard) => [
    shard.open,
    shard.closed,
    shard.pendingItems,
    shard.pendingBytes,
  ]);
  const held = await Promise.all(named.map((key) => redis.exists(key)));
  const left = named.filter((_, i) => held[i]! > 0);
  // Entry keys are looked for (a scan of the whole prefix) only once the rest is gone.
  if (left.length > 0) return left;
  const shardTag = new RegExp(`^\\{${prefix.replace(/\./g, "\\.")}:r(:\\d+)?\\}`);
  return (await prefixKeys(redis, prefix))
    .map((key) => key.toString("latin1"))
    .filter((key) => shardTag.test(key) && key !== keys.roundShardCount)
    .sort();
}

/** The ids of closed, unreleased rounds in any of the first `shards` round shards. */
export async function closedRounds(
  redis: RedisClient,
  prefix: string,
  shards = DEFAULT_ROUND_SHARDS,
): Promise<string[]> {
  const keys = new RedisKeys(prefix);
  const ids = await Promise.all(
    Array.from({ length: shards }, (_, s) => redis.smembers(keys.roundShard(s).closed)),
  );
  return [...new Set(ids.flat())];
}

/** How many entries closed round `roundId` holds over the first `shards` round shards. */
export async function closedRoundSize(
  redis: RedisClient,
  prefix: string,
  roundId: string,
  shards = DEFAULT_ROUND_SHARDS,
): Promise<number> {
  const keys = new RedisKeys(prefix);
  const sizes = await Promise.all(
    Array.from({ length: shards }, (_, s) => redis.zcard(keys.roundShard(s).closedRound(roundId))),
  );
  return sizes.reduce((a, b) => a + b, 0);
}
