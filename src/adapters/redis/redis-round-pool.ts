import { fromHex, randomBytes, toHex } from "../../protocol/bytes.js";
import type { RoundEntry } from "../../relay/ports/inbox-store.js";
import {
  DEFAULT_PAGE_LIMIT,
  type AddResult,
  type EntryKey,
  type PageLimit,
  type QuotaCheck,
  type RoundPool,
} from "../../relay/ports/round-pool.js";
import { buf, type RedisClient } from "./redis-connection.js";
import {
  MAX_ROUND_SHARDS,
  roundShardOf,
  type RedisKeys,
  type RoundShardKeys,
} from "./redis-keys.js";
import { runScript } from "./redis-scripts.js";

/** "<inbox hex>/<message id hex>": an entry's member name in its round's zset. */
function memberOf(entry: EntryKey): string {
  return `${toHex(entry.inboxId)}/${toHex(entry.messageId)}`;
}

/**
 * An entry's sort key: 2^52 + (the inbox id's first 20 bits) * 2^32 + 32 bits from the CSPRNG.
 * A round pages by it, so an inbox's entries sit together (a page reaches few inboxes, and
 * appending it costs a call per inbox it holds) in a random order of their own. Exact as a zset
 * score, and never in the range of epoch seconds or milliseconds, so no score reads as a time.
 */
function sortKey(inboxId: Uint8Array): string {
  const group = ((inboxId[0] ?? 0) << 12) | ((inboxId[1] ?? 0) << 4) | ((inboxId[2] ?? 0) >> 4);
  const [random] = crypto.getRandomValues(new Uint32Array(1));
  return String(2 ** 52 + group * 2 ** 32 + random!);
}

/** Round shards when none are configured: enough to spread a round over a cluster's nodes. */
export const DEFAULT_ROUND_SHARDS = 16;

/** The field of `{P:r}:n` that holds the most shards used (a zset, so ZADD GT keeps the max). */
const SHARD_COUNT_FIELD = "shards";

/** Closed rounds whose first non-empty shard a pool remembers (rounds in flight: a few). */
const REMEMBERED_ROUNDS = 64;

/**
 * The round pool on Redis, split into round shards (see RedisKeys), each a slot of its own so a
 * cluster spreads pending deposits and their close over its nodes. An inbox's deposits go to
 * one shard (`roundShardOf`). In each shard the open round is a zset of
 * "<inbox hex>/<message id hex>" names, each scored by a sort key that groups an inbox's entries
 * and orders them by a number drawn from the CSPRNG when the entry is added, so Redis lists a
 * round neither by arrival nor by anything a client chose; each entry's item is a string of its
 * own.
 *
 * Closing renames every shard's open zset to the new round's id (atomically per shard, so a
 * deposit lands in exactly one round; a closer that dies part-way leaves the other shards' entries
 * for the next round). A closed round is read (pool-page.lua) and released (pool-release.lua) a
 * page at a time, shard after shard, in sort key order within each: no command carries more than a
 * page, no script works on more than a page or touches more than one slot.
 *
 * The shard count may change between runs: `{P:r}:n` keeps the most shards ever used with the
 * prefix, and closing, paging and recovery cover all of them, so no pending deposit is stranded.
 *
 * @example const pool = new RedisRoundPool(connectRedis(url), new RedisKeys(), 16);
 */
export class RedisRoundPool implements RoundPool {
  /** Round id -> first shard that may still hold its entries (earlier ones are drained). */
  readonly #drainedBelow = new Map<string, number>();
  /** Shard of each entry of the last page read, so a release finds entries whatever the count. */
  #lastPage: { roundId: string; shards: Map<string, number> } | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    readonly shards = DEFAULT_ROUND_SHARDS,
  ) {
    if (!Number.isInteger(shards) || shards < 1 || shards > MAX_ROUND_SHARDS) {
      throw new RangeError(`round shards must be an integer from 1 to ${MAX_ROUND_SHARDS}`);
    }
  }

  /** Shards to cover, as last read by close() or unreleased() (closers call those first). */
  #known: number | undefined;

  /** Raises `{P:r}:n` to this pool's shard count if it is below (ZADD GT keeps the max). */
  #recordShards(): Promise<unknown> {
    return this.redis.zadd(this.keys.roundShardCount, "GT", this.shards, SHARD_COUNT_FIELD);
  }

  /** How many shards closing and recovery must cover: this pool's, or more if used before. */
  async #span(): Promise<number> {
    await this.#recordShards();
    const most = Number(await this.redis.zscore(this.keys.roundShardCount, SHARD_COUNT_FIELD));
    this.#known = Math.min(MAX_ROUND_SHARDS, Math.max(this.shards, most || 0));
    return this.#known;
  }

  async #knownSpan(): Promise<number> {
    return this.#known ?? this.#span();
  }

  #recorded: Promise<unknown> | undefined;

  /**
   * Resolves once this pool's shard count is recorded (asked of Redis before the first add
   * only), so any closer covers the shards it adds to. Await it before adding an entry.
   */
  ready(): Promise<unknown> {
    this.#recorded ??= this.#recordShards().catch((error: unknown) => {
      this.#recorded = undefined;
      throw error;
    });
    return this.#recorded;
  }

  /**
   * Where `entry` goes in the open round: its round shard's keys, its member name there and a
   * sort key drawn now (pool-add.lua's and deposit.lua's arguments).
   */
  placement(entry: RoundEntry): { shard: RoundShardKeys; member: string; sortKey: string } {
    return {
      shard: this.keys.roundShard(roundShardOf(entry.inboxId, this.shards)),
      member: memberOf(entry),
      sortKey: sortKey(entry.inboxId),
    };
  }

  async add(entry: RoundEntry, quota: QuotaCheck): Promise<AddResult> {
    await this.ready();
    const { shard, member, sortKey } = this.placement(entry);
    return (await runScript(this.redis, "poolAdd", [
      shard.open,
      shard.entryPrefix + member,
      shard.pendingItems,
      shard.pendingBytes,
      toHex(entry.inboxId),
      member,
      buf(entry.item),
      quota.stored.items,
      quota.stored.bytes,
      quota.maxItems,
      quota.maxBytes,
      sortKey,
    ])) as AddResult;
  }

  async close(): Promise<string | undefined> {
    const id = toHex(randomBytes(16));
    const counts = await Promise.all(
      this.#shards(await this.#span()).map((shard) =>
        runScript(this.redis, "poolClose", [shard.open, shard.closed, shard.closedRound(id), id]),
      ),
    );
    return counts.some((count) => Number(count) > 0) ? id : undefined;
  }

  async unreleased(): Promise<string[]> {
    const ids = await Promise.all(
      this.#shards(await this.#span()).map((shard) => this.redis.smembers(shard.closed)),
    );
    return [...new Set(ids.flat())];
  }

  async page(roundId: string, limit: PageLimit): Promise<RoundEntry[]> {
    const span = await this.#knownSpan();
    const entries: RoundEntry[] = [];
    const shards = new Map<string, number>();
    let bytes = 0;
    for (let s = this.#drainedBelow.get(roundId) ?? 0; s < span; s++) {
      const first = entries.length === 0;
      const shard = this.keys.roundShard(s);
      const reply = (await runScript(
        this.redis,
        "poolPage",
        [
          shard.closedRound(roundId),
          shard.entryPrefix,
          limit.entries - entries.length,
          limit.bytes - bytes,
        ],
        true,
      )) as Buffer[];
      // A closed round's shard never gains entries: once empty, later pages start past it.
      if (reply.length === 0) {
        if (first) this.#remember(roundId, s + 1);
        continue;
      }
      // The script gives a shard's first entry whatever its size; past the page's first entry
      // one that does not fit waits for the next page.
      if (!first && bytes + reply[1]!.length > limit.bytes) break;
      for (let i = 0; i + 1 < reply.length; i += 2) {
        const member = reply[i]!.toString("latin1");
        const slash = member.indexOf("/");
        const item = new Uint8Array(reply[i + 1]!);
        bytes += item.length;
        shards.set(member, s);
        entries.push({
          inboxId: fromHex(member.slice(0, slash)),
          messageId: fromHex(member.slice(slash + 1)),
          item,
        });
      }
      if (entries.length >= limit.entries || bytes >= limit.bytes) break;
    }
    this.#lastPage = { roundId, shards };
    return entries;
  }

  async release(roundId: string, entries: readonly EntryKey[]): Promise<boolean> {
    const known = this.#lastPage?.roundId === roundId ? this.#lastPage.shards : undefined;
    const byShard = new Map<number, string[]>();
    for (const entry of entries) {
      const member = memberOf(entry);
      const s = known?.get(member) ?? roundShardOf(entry.inboxId, this.shards);
      const list = byShard.get(s);
      if (list) list.push(member);
      else byShard.set(s, [member]);
    }
    // A page per script call, even if a caller passes more: arguments and work stay bounded.
    const step = DEFAULT_PAGE_LIMIT.entries;
    for (const [s, members] of byShard) {
      const shard = this.keys.roundShard(s);
      for (let start = 0; start < members.length; start += step) {
        await runScript(this.redis, "poolRelease", [
          shard.closed,
          shard.closedRound(roundId),
          shard.pendingItems,
          shard.pendingBytes,
          roundId,
          shard.entryPrefix,
          ...members.slice(start, start + step),
        ]);
      }
    }
    const from = this.#drainedBelow.get(roundId) ?? 0;
    const held = await Promise.all(
      this.#shards(await this.#knownSpan())
        .slice(from)
        .map((shard) => this.redis.exists(shard.closedRound(roundId))),
    );
    const empty = held.every((count) => count === 0);
    if (empty) this.#drainedBelow.delete(roundId);
    return empty;
  }

  #shards(span: number): RoundShardKeys[] {
    return Array.from({ length: span }, (_, s) => this.keys.roundShard(s));
  }

  #remember(roundId: string, drainedBelow: number): void {
    this.#drainedBelow.delete(roundId);
    this.#drainedBelow.set(roundId, drainedBelow);
    if (this.#drainedBelow.size > REMEMBERED_ROUNDS) {
      this.#drainedBelow.delete(this.#drainedBelow.keys().next().value!);
    }
  }
}
