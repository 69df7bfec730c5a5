import { toHex } from "../../protocol/bytes.js";
import type { Deposit, DepositIntake, DepositOutcome } from "../../relay/ports/deposit-intake.js";
import { StepwiseDepositIntake } from "../../relay/stepwise-deposit-intake.js";
import { buf, type RedisClient } from "./redis-connection.js";
import type { RedisInboxStore } from "./redis-inbox-store.js";
import { replayShardOf, type RedisKeys } from "./redis-keys.js";
import type { RedisReplaySet } from "./redis-replay-set.js";
import type { RedisRoundPool } from "./redis-round-pool.js";
import { runScript } from "./redis-scripts.js";

/** The ports a Redis deposit intake stands in for, with their Redis types. */
export interface RedisDepositParts {
  inboxes: RedisInboxStore;
  pool: RedisRoundPool;
  replay: RedisReplaySet;
}

/**
 * A deposit on Redis. On one server it is one Lua script (deposit.lua), so one round trip:
 * replay record, inbox admission with its expiry registration, duplicate checks, the quota
 * against stored plus pending, and the round pool's add, atomically; it writes exactly what the
 * separate steps write, in the same keys, so data from either path is read by both.
 *
 * A Redis Cluster refuses a script whose keys are in more than one slot, and a deposit's keys
 * are in four (replay shard, expiry index, inbox, round shard): there the deposit runs as the
 * separate steps (StepwiseDepositIntake over the same ports), each atomic in its own slot, the
 * expiry registration before the inbox it registers, as before this intake existed.
 *
 * @example
 * const deposits = new RedisDepositIntake(redis, keys, { inboxes, pool, replay });
 * await deposits.deposit({ entry, expiresDay, limits, replay: { keyTag, enc } });
 */
export class RedisDepositIntake implements DepositIntake {
  readonly #stepwise: StepwiseDepositIntake;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    readonly parts: RedisDepositParts,
  ) {
    this.#stepwise = new StepwiseDepositIntake(parts);
  }

  /** One script on one server; separate steps on a cluster. */
  get atomic(): boolean {
    return !this.redis.isCluster;
  }

  async deposit({ entry, expiresDay, limits, replay }: Deposit): Promise<DepositOutcome> {
    if (this.redis.isCluster) return this.#stepwise.deposit({ entry, expiresDay, limits, replay });
    const { pool, inboxes } = this.parts;
    await pool.ready();
    const inbox = this.keys.inbox(entry.inboxId);
    const { shard, member, sortKey } = pool.placement(entry);
    const keys = [
      this.keys.expiry,
      inbox.meta,
      inbox.ids,
      shard.open,
      shard.entryPrefix + member,
      shard.pendingItems,
      shard.pendingBytes,
    ];
    const args = [
      buf(entry.inboxId),
      toHex(entry.inboxId),
      buf(entry.messageId),
      member,
      buf(entry.item),
      expiresDay,
      inboxes.maxInboxes,
      limits.maxItems,
      limits.maxBytes,
      sortKey,
    ];
    if (replay) {
      keys.push(
        this.keys.replay(replay.keyTag, replayShardOf(replay.enc)),
        this.keys.replay(replay.keyTag),
      );
      args.push(buf(replay.enc));
    }
    return (await runScript(this.redis, "deposit", [
      keys.length,
      ...keys,
      ...args,
    ])) as DepositOutcome;
  }
}
