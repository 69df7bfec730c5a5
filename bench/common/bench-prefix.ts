/**
 * Key prefixes of the Redis part: every measurement gets its own random prefix, so runs on a
 * shared Redis (REDIS_URL) never meet each other's keys, and each prefix can be deleted after
 * (deletePrefix in adapters/redis/redis-prefix.ts).
 */
import { randomBytes, toHex } from "../../src/protocol/bytes.js";

/** "bench-<part>-<12 random hex digits>", valid for RedisKeys and `--redis-prefix`. */
export function benchPrefix(part: string): string {
  return `bench-${part}-${toHex(randomBytes(6))}`;
}
