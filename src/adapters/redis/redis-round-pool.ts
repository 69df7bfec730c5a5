import type { Redis } from "ioredis";
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
import { buf } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";
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

/**
 * The round pool on Redis. The open round is a zset of "<inbox hex>/<message id hex>" names,
 * each scored by a sort key that groups an inbox's entries and orders them by a number drawn
 * from the CSPRNG when the entry is added, so Redis lists a round neither by arrival nor by
 * anything a client chose; each entry's item is a string of its own.
 * Closing renames the open zset atomically, so a deposit lands in exactly one round. A closed
 * round is read (pool-page.lua) and released (pool-release.lua) a page at a time in sort key
 * order: no command carries more than a page, no script works on more than a page.
 *
 * @example const pool = new RedisRoundPool(connectRedis(url), new RedisKeys());
 */
export class RedisRoundPool implements RoundPool {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async add(entry: RoundEntry, quota: QuotaCheck): Promise<AddResult> {
    const member = memberOf(entry);
    return (await runScript(this.redis, "poolAdd", [
      this.keys.openRound,
      this.keys.entryPrefix + member,
      this.keys.pendingItems,
      this.keys.pendingBytes,
      toHex(entry.inboxId),
      member,
      buf(entry.item),
      quota.stored.items,
      quota.stored.bytes,
      quota.maxItems,
      quota.maxBytes,
      sortKey(entry.inboxId),
    ])) as AddResult;
  }

  async close(): Promise<string | undefined> {
    const id = toHex(randomBytes(16));
    const count = Number(
      await runScript(this.redis, "poolClose", [
        this.keys.openRound,
        this.keys.closedRounds,
        this.keys.closedRound(id),
        id,
      ]),
    );
    return count === 0 ? undefined : id;
  }

  async unreleased(): Promise<string[]> {
    return this.redis.smembers(this.keys.closedRounds);
  }

  async page(roundId: string, limit: PageLimit): Promise<RoundEntry[]> {
    const reply = (await runScript(
      this.redis,
      "poolPage",
      [this.keys.closedRound(roundId), this.keys.entryPrefix, limit.entries, limit.bytes],
      true,
    )) as Buffer[];
    const entries: RoundEntry[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const member = reply[i]!.toString("latin1");
      const slash = member.indexOf("/");
      entries.push({
        inboxId: fromHex(member.slice(0, slash)),
        messageId: fromHex(member.slice(slash + 1)),
        item: new Uint8Array(reply[i + 1]!),
      });
    }
    return entries;
  }

  async release(roundId: string, entries: readonly EntryKey[]): Promise<boolean> {
    // A page per script call, even if a caller passes more: arguments and work stay bounded.
    const step = DEFAULT_PAGE_LIMIT.entries;
    let empty = false;
    for (let start = 0; start === 0 || start < entries.length; start += step) {
      const members = entries.slice(start, start + step).map(memberOf);
      const released = await runScript(this.redis, "poolRelease", [
        this.keys.closedRounds,
        this.keys.closedRound(roundId),
        this.keys.pendingItems,
        this.keys.pendingBytes,
        roundId,
        this.keys.entryPrefix,
        ...members,
      ]);
      empty = Number(released) === 1;
    }
    return empty;
  }
}
