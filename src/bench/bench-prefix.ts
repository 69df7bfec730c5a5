/**
 * Key prefixes of the Redis part: every measurement gets its own random prefix, so runs on a
 * shared Redis (REDIS_URL) never meet each other's keys, and each prefix can be deleted after.
 */
import type { Redis } from "ioredis";
import { randomBytes, toHex } from "../protocol/bytes.js";

const SCAN_COUNT = 1000;

/** "bench-<part>-<12 random hex digits>", valid for RedisKeys and `--redis-prefix`. */
export function benchPrefix(part: string): string {
  return `bench-${part}-${toHex(randomBytes(6))}`;
}

/**
 * Deletes every key of a prefix: all of them start with "{<prefix>:" (RedisKeys hash-tags every
 * key, BullMQ's included). Returns the number of keys deleted.
 */
export async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = "0";
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `{${prefix}:*`, "COUNT", SCAN_COUNT);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== "0");
  return deleted;
}
