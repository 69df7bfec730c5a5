/**
 * Helpers of the Redis process tests: what a relay left in Redis. The relays themselves come
 * from testkit/relay-process.ts, clients that survive restarts from testkit/resilient-client.ts.
 */
import type { Redis } from "ioredis";
import { RedisKeys } from "../../src/adapters/redis/redis-keys.js";

/** What the round pool still holds: open or unreleased rounds, pending usage, entry keys. */
export async function poolLeftovers(redis: Redis, prefix: string): Promise<string[]> {
  const keys = new RedisKeys(prefix);
  const left: string[] = [];
  if (await redis.exists(keys.openRound)) left.push(keys.openRound);
  for (const id of await redis.smembers(keys.closedRounds)) left.push(`closed round ${id}`);
  if (await redis.exists(keys.pendingItems)) left.push(keys.pendingItems);
  if (await redis.exists(keys.pendingBytes)) left.push(keys.pendingBytes);
  // Braces are not glob characters, so the entry prefix is its own pattern.
  left.push(...(await redis.keys(`${keys.entryPrefix}*`)));
  return left;
}
