/**
 * Redis memory per stored item, from INFO memory used_memory before and after each phase:
 * admitting inboxes, delivering 1 KiB items to them (appendRound), holding as many deposits
 * pending in the open round (pool.add), and as many replay records (one per accepted request).
 * Each phase runs on its own connection, closed before the reading, so the loading client's
 * buffers are not counted. MEMORY USAGE of the keys themselves splits the per-item figure.
 */
import type { Redis } from "ioredis";
import { RedisKeys } from "../../src/adapters/redis/redis-keys.js";
import { DEFAULT_ROUND_SHARDS } from "../../src/adapters/redis/redis-round-pool.js";
import { redisPorts, type RedisPorts } from "../../src/adapters/redis/redis-ports.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { dayOf } from "../../src/relay/ports/clock.js";
import type { RoundEntry } from "../../src/relay/ports/inbox-store.js";
import { DEFAULT_RELAY_CONFIG } from "../../src/relay/relay-config.js";
import { deletePrefix } from "../../src/adapters/redis/redis-prefix.js";
import { benchPrefix } from "../common/bench-prefix.js";
import type { Cleanup } from "../common/cleanup.js";
import { usedMemory } from "./redis-info.js";
import type { BenchRedis } from "./redis-server-process.js";

export const ITEM_BYTES = 1024;
const ID_BYTES = 32;
const MESSAGE_ID_BYTES = 16;
/** Entries per appendRound call (a round), and pool.add / SADD calls in flight at once. */
const BATCH = 2000;
/** Replay records are the enc (X25519 public key) of each opened request. */
const ENC_BYTES = 32;
const KEY_TAG = "benchkey";
/** Entry keys whose MEMORY USAGE is sampled. */
const ENTRY_SAMPLE = 1000;

export interface MemoryOptions {
  redis: BenchRedis;
  admin: Redis;
  items: number;
  inboxes: number;
}

export interface MemoryPhase {
  name: string;
  count: number;
  /** used_memory after the phase minus before it. */
  bytes: number;
}

export interface RedisMemory {
  itemBytes: number;
  before: number;
  inboxes: MemoryPhase;
  delivered: MemoryPhase;
  pending: MemoryPhase;
  replay: MemoryPhase;
  /** MEMORY USAGE summed over the keys, per item: items zsets, message id zsets. */
  itemsZset: number;
  messageIdZset: number;
  /** MEMORY USAGE of the pending entry strings (sampled) and the open round zset, per entry. */
  entryString: number;
  openRoundZset: number;
  /** Bytes left after deleting the prefix, relative to `before` (lazy freeing may lag). */
  afterDelete: number | undefined;
}

async function phase(
  options: MemoryOptions,
  prefix: string,
  name: string,
  count: number,
  work: (ports: RedisPorts) => Promise<void>,
): Promise<MemoryPhase> {
  const before = await usedMemory(options.admin);
  const ports = redisPorts({ url: options.redis.url, prefix, masterKey: SecretBytes.random(32) });
  try {
    await work(ports);
  } finally {
    await ports.close();
  }
  return { name, count, bytes: (await usedMemory(options.admin)) - before };
}

async function inBatches(count: number, start: (i: number) => Promise<unknown>): Promise<void> {
  for (let from = 0; from < count; from += BATCH) {
    const batch: Promise<unknown>[] = [];
    for (let i = from; i < Math.min(count, from + BATCH); i++) batch.push(start(i));
    await Promise.all(batch);
  }
}

async function memoryUsage(admin: Redis, keys: readonly string[]): Promise<number> {
  const pipeline = admin.pipeline();
  for (const key of keys) pipeline.memory("USAGE", key, "SAMPLES", "0");
  const results = (await pipeline.exec()) ?? [];
  return results.reduce((sum, [error, value]) => sum + (error ? 0 : Number(value ?? 0)), 0);
}

/**
 * @example const figures = await measureMemory({ redis, admin, items: 20_000, inboxes: 1_000 }, c);
 */
export async function measureMemory(
  options: MemoryOptions,
  cleanup: Cleanup,
): Promise<RedisMemory> {
  const prefix = benchPrefix("mem");
  const keys = new RedisKeys(prefix);
  const deleteAll = cleanup.add({
    name: `keys ${prefix}`,
    stop: async () => void (await deletePrefix(options.admin, prefix)),
    now: () => undefined,
  });
  const { admin } = options;
  const expiresDay = dayOf(Date.now()) + DEFAULT_RELAY_CONFIG.retentionDays;
  const inboxIds = Array.from({ length: options.inboxes }, () => randomBytes(ID_BYTES));
  const entry = (i: number): RoundEntry => ({
    inboxId: inboxIds[i % inboxIds.length]!,
    messageId: randomBytes(MESSAGE_ID_BYTES),
    item: randomBytes(ITEM_BYTES),
  });
  const before = await usedMemory(admin);

  const inboxes = await phase(options, prefix, "inbox (admitted)", inboxIds.length, (ports) =>
    inBatches(inboxIds.length, (i) =>
      ports.inboxes.admit(inboxIds[i]!, randomBytes(MESSAGE_ID_BYTES), expiresDay),
    ),
  );
  const delivered = await phase(options, prefix, "delivered item", options.items, async (ports) => {
    for (let from = 0; from < options.items; from += BATCH) {
      const round: RoundEntry[] = [];
      for (let i = from; i < Math.min(options.items, from + BATCH); i++) round.push(entry(i));
      await ports.inboxes.appendRound(round, expiresDay);
    }
  });
  const perInbox = Math.ceil(options.items / options.inboxes);
  const quota = { stored: { items: perInbox, bytes: perInbox * ITEM_BYTES } };
  const pending = await phase(options, prefix, "pending deposit", options.items, (ports) =>
    inBatches(options.items, async (i) => {
      const added = await ports.pool.add(entry(i), { ...quota, ...DEFAULT_RELAY_CONFIG.quota });
      if (added !== "added") throw new Error(`pool.add answered ${added}`);
    }),
  );
  const replay = await phase(options, prefix, "replay record", options.items, (ports) =>
    inBatches(options.items, async () => {
      if (!(await ports.replay.add(KEY_TAG, randomBytes(ENC_BYTES)))) {
        throw new Error("a random enc was already recorded");
      }
    }),
  );

  const inboxKeys = inboxIds.map((id) => keys.inbox(id));
  const itemsZset = await memoryUsage(
    admin,
    inboxKeys.map((k) => k.items),
  );
  const messageIdZset = await memoryUsage(
    admin,
    inboxKeys.map((k) => k.ids),
  );
  const shards = Array.from({ length: DEFAULT_ROUND_SHARDS }, (_, s) => keys.roundShard(s));
  const sampled = await Promise.all(
    shards.map(async (shard) =>
      (
        await admin.zrange(shard.open, "0", String(Math.ceil(ENTRY_SAMPLE / shards.length) - 1))
      ).map((m) => shard.entryPrefix + m),
    ),
  );
  const entryKeys = sampled.flat();
  const entryString = await memoryUsage(admin, entryKeys);
  const openRoundZset = await memoryUsage(
    admin,
    shards.map((shard) => shard.open),
  );

  await deleteAll();
  const afterDelete = options.redis.source === "redis-server" ? await usedMemory(admin) : undefined;
  return {
    itemBytes: ITEM_BYTES,
    before,
    inboxes,
    delivered,
    pending,
    replay,
    itemsZset: itemsZset / options.items,
    messageIdZset: messageIdZset / options.items,
    entryString: entryString / Math.max(1, entryKeys.length),
    openRoundZset: openRoundZset / options.items,
    afterDelete: afterDelete === undefined ? undefined : afterDelete - before,
  };
}
