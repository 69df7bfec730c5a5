/**
 * Everything stored under one key prefix. RedisKeys hash-tags every key, BullMQ's included, so
 * all of a prefix's keys start with "{<prefix>:". For operators' and tests' views of what Redis
 * holds, and for removing a prefix (bench and demo runs).
 */
import { Cluster } from "ioredis";
import type { RedisClient } from "./redis-connection.js";

const SCAN_COUNT = 1000;

/** Names of every key under `prefix`, by SCAN (never KEYS, which blocks the server). */
export async function prefixKeys(redis: RedisClient, prefix: string): Promise<Buffer[]> {
  // A cluster's SCAN sees one node: every master is scanned.
  const nodes = redis instanceof Cluster ? redis.nodes("master") : [redis];
  const keys: Buffer[] = [];
  for (const node of nodes) {
    let cursor = "0";
    do {
      const [next, found] = await node.scanBuffer(
        cursor,
        "MATCH",
        `{${prefix}:*`,
        "COUNT",
        SCAN_COUNT,
      );
      cursor = String(next);
      keys.push(...found);
    } while (cursor !== "0");
  }
  return keys;
}

/**
 * A key's type and every byte string it holds (values, hash fields, members, scores, stream ids
 * and fields), in Redis' reply order. Typed buffer commands only: a generic `callBuffer` breaks on
 * connections with auto-pipelining (ioredis 6).
 *
 * @example const { type, values } = await keyValues(redis, key);
 */
export async function keyValues(
  redis: RedisClient,
  key: Buffer,
): Promise<{ type: string; values: Buffer[] }> {
  const type = await redis.type(key);
  switch (type) {
    case "string": {
      const value = await redis.getBuffer(key);
      return { type, values: value ? [value] : [] };
    }
    case "hash": {
      const values: Buffer[] = [];
      let cursor = "0";
      do {
        const [next, found] = await redis.hscanBuffer(key, cursor, "COUNT", SCAN_COUNT);
        cursor = String(next);
        values.push(...found);
      } while (cursor !== "0");
      return { type, values };
    }
    case "list":
      return { type, values: await redis.lrangeBuffer(key, 0, -1) };
    case "set":
      return { type, values: await redis.smembersBuffer(key) };
    case "zset":
      return { type, values: await redis.zrangeBuffer(key, "0", "-1", "WITHSCORES") };
    case "stream": {
      const entries = (await redis.xrangeBuffer(key, "-", "+")) as [Buffer, Buffer[]][];
      return { type, values: entries.flatMap(([id, fields]) => [id, ...fields]) };
    }
    default:
      return { type, values: [] };
  }
}

/**
 * Deletes every key under `prefix`; the number deleted.
 *
 * @example await deletePrefix(redis, "bench-http-0a1b2c3d4e5f");
 */
export async function deletePrefix(redis: RedisClient, prefix: string): Promise<number> {
  let deleted = 0;
  const keys = await prefixKeys(redis, prefix);
  for (let i = 0; i < keys.length; i += SCAN_COUNT) {
    const batch = keys.slice(i, i + SCAN_COUNT);
    // On a cluster one UNLINK may only name keys of one slot: one key per call there.
    const counts = redis.isCluster
      ? await Promise.all(batch.map((key) => redis.unlink(key)))
      : [await redis.unlink(...batch)];
    deleted += counts.reduce((sum, count) => sum + count, 0);
  }
  return deleted;
}
