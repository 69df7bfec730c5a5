/**
 * What one key prefix holds in Redis, counted from the keys themselves (not from metrics): items
 * stored in inboxes and deposits still pending in the round pool. The bench's checks use it.
 */
import type { Redis } from "ioredis";

const SCAN_COUNT = 1000;

export interface PrefixContents {
  inboxes: number;
  /** Sum of the inboxes' item counts (their meta hashes' `c`). */
  storedItems: number;
  /** Entry strings in the pool: deposits accepted but not yet released by a round close. */
  pendingEntries: number;
  /** Closed rounds not yet released. */
  unreleasedRounds: number;
}

async function scanAll(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", pattern, "COUNT", SCAN_COUNT);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  return keys;
}

/**
 * @example const { storedItems, pendingEntries } = await prefixContents(redis, "bench-http-...");
 */
export async function prefixContents(redis: Redis, prefix: string): Promise<PrefixContents> {
  const metas = (await scanAll(redis, `{${prefix}:i:*}:m`)).filter((k) => k.endsWith("}:m"));
  const pipeline = redis.pipeline();
  for (const meta of metas) pipeline.hget(meta, "c");
  const counts = (await pipeline.exec()) ?? [];
  const storedItems = counts.reduce((sum, [error, c]) => sum + (error ? 0 : Number(c ?? 0)), 0);
  const pendingEntries = (await scanAll(redis, `{${prefix}:r}:e:*`)).length;
  return {
    inboxes: metas.length,
    storedItems,
    pendingEntries,
    unreleasedRounds: await redis.scard(`{${prefix}:r}:closed`),
  };
}
