import type { Redis } from "ioredis";
import { fromHex, randomBytes, toHex } from "../../protocol/bytes.js";
import type { RoundEntry } from "../../relay/ports/inbox-store.js";
import type {
  AddResult,
  ClosedRound,
  QuotaCheck,
  RoundPool,
} from "../../relay/ports/round-pool.js";
import { buf } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";
import { runScript } from "./redis-scripts.js";

/**
 * The round pool on Redis. The open round is a zset of "<inbox hex>/<message id hex>" names,
 * all scored 0, so Redis lists it by name and never by arrival; each entry's item is a string of
 * its own. Closing renames the open zset atomically, so a deposit lands in exactly one round.
 *
 * @example const pool = new RedisRoundPool(connectRedis(url), new RedisKeys());
 */
export class RedisRoundPool implements RoundPool {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async add(entry: RoundEntry, quota: QuotaCheck): Promise<AddResult> {
    const inbox = toHex(entry.inboxId);
    const member = `${inbox}/${toHex(entry.messageId)}`;
    return (await runScript(this.redis, "poolAdd", [
      this.keys.openRound,
      this.keys.entryPrefix + member,
      this.keys.pendingItems,
      this.keys.pendingBytes,
      inbox,
      member,
      buf(entry.item),
      quota.stored.items,
      quota.stored.bytes,
      quota.maxItems,
      quota.maxBytes,
    ])) as AddResult;
  }

  async close(): Promise<ClosedRound | undefined> {
    const id = toHex(randomBytes(16));
    const count = Number(
      await runScript(this.redis, "poolClose", [
        this.keys.openRound,
        this.keys.closedRounds,
        this.keys.closedRound(id),
        id,
      ]),
    );
    return count === 0 ? undefined : this.#read(id);
  }

  async #read(id: string): Promise<ClosedRound> {
    const members = await this.redis.zrange(this.keys.closedRound(id), "0", "-1");
    if (members.length === 0) return { id, entries: [] };
    const items = await this.redis.mgetBuffer(...members.map((m) => this.keys.entryPrefix + m));
    const entries: RoundEntry[] = [];
    members.forEach((member, i) => {
      const item = items[i];
      // A missing item means another closer released the round meanwhile: nothing to deliver.
      if (!item) return;
      const [inbox, message] = member.split("/");
      entries.push({
        inboxId: fromHex(inbox!),
        messageId: fromHex(message!),
        item: new Uint8Array(item),
      });
    });
    return { id, entries };
  }

  async unreleased(): Promise<ClosedRound[]> {
    const ids = await this.redis.smembers(this.keys.closedRounds);
    return Promise.all(ids.map((id) => this.#read(id)));
  }

  async release(roundId: string): Promise<void> {
    await runScript(this.redis, "poolRelease", [
      this.keys.closedRounds,
      this.keys.closedRound(roundId),
      this.keys.pendingItems,
      this.keys.pendingBytes,
      roundId,
      this.keys.entryPrefix,
    ]);
  }
}
