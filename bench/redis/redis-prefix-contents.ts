/**
 * What one key prefix holds in Redis, counted from the keys themselves (not from metrics): items
 * stored in inboxes and deposits still pending in the round pool (every round shard). On a Redis
 * Cluster every master is scanned. The bench's checks use it.
 */
import type { Redis } from "ioredis";
import type { RedisClient } from "../../src/adapters/redis/redis-connection.js";
import { serverNodes } from "./redis-info.js";

const SCAN_COUNT = 1000;

export interface PrefixContents {
  inboxes: number;
  /** Sum of the inboxes' item counts (their meta hashes' `c`). */
  storedItems: number;
  /** Entry strings in the pool: deposits accepted but not yet released by a round close. */
  pendingEntries: number;
  /** Closed rounds not yet released (in any round shard). */
  unreleasedRounds: number;
}

/** Keys matching `pattern` on one server (of a cluster: on that node only). */
export async function scanServer(node: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await node.scan(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

/** Keys matching `pattern` on the server, or on every master of a cluster. */
async function scanAll(redis: RedisClient, pattern: string): Promise<string[]> {
  const found = await Promise.all(serverNodes(redis).map((node) => scanServer(node, pattern)));
  return found.flat();
}

/**
 * @example const { storedItems, pendingEntries } = await prefixContents(redis, "bench-http-...");
 */
export async function prefixContents(redis: RedisClient, prefix: string): Promise<PrefixContents> {
  const metas = (await scanAll(redis, `{${prefix}:i:*}:m`)).filter((k) => k.endsWith("}:m"));
  // One command per key (a cluster's pipeline may not span slots); ioredis writes them at once.
  const counts = await Promise.all(metas.map((meta) => redis.hget(meta, "c")));
  const storedItems = counts.reduce((sum, c) => sum + Number(c ?? 0), 0);
  // Round shard 0 is tagged {P:r}, shard s {P:r:s}.
  const pendingEntries = (await scanAll(redis, `{${prefix}:r*:e:*`)).length;
  const closedSets = await scanAll(redis, `{${prefix}:r*:closed`);
  const closed = await Promise.all(closedSets.map((key) => redis.smembers(key)));
  return {
    inboxes: metas.length,
    storedItems,
    pendingEntries,
    unreleasedRounds: new Set(closed.flat()).size,
  };
}
