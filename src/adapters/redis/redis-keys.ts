/**
 * Every Redis key Shroud uses, built in one place. Keys are hash-tagged so a Redis Cluster keeps
 * the keys one script touches in one slot (deposit.lua, which takes a whole deposit in one call,
 * spans the replay shard, the expiry index, the inbox and the round shard: it runs only on a
 * single server, and on a cluster a deposit is the separate one-slot steps):
 *
 * | slot (hash tag)        | keys                                                         |
 * | ---------------------- | ------------------------------------------------------------ |
 * | `{P:i:<inbox id>}`     | one inbox: `:m` meta hash, `:q` items zset, `:d` message ids  |
 * | `{P:r}`, `{P:r:<s>}`   | round shard 0, shard s > 0: open round, closed rounds,        |
 * |                        | entries, pending usage (`{P:r}:n`: most shards ever used)     |
 * | `{P:expiry}`           | inbox id -> the next day something in that inbox expires      |
 * | `{P:x:<key tag>:<n>}`  | replay shard n of one HPKE key's replay records               |
 * | `{P:x:<key tag>}`      | the same, unsharded (written before replay shards; read only) |
 * | `{P:keys}`             | the encrypted key ring                                        |
 * | `{P:m}`                | aggregate metrics                                             |
 * | `{P:q}` (BullMQ prefix) | the round-closing queue and its job scheduler                |
 * | `{P:f:<peer tag>}`     | one federation peer: `:h` held slot ids zset, `:e:<id>`      |
 * |                        | slot strings, `:c:<claim id>` claimed slot ids zsets, `:u`   |
 * |                        | unsent claim ids, `:r` recently sent claim ids list          |
 * | `{P:fp}`               | federation peers with held slots or unsent claims: tag -> origin |
 * | `{P:fq}` (BullMQ prefix) | the federation delivery queue of all peers (`batches`)     |
 *
 * The round pool is split into round shards, each its own slot, so pending deposits and their
 * close spread over a cluster like inboxes and federation peers do (the one delivery queue lives
 * in `{P:fq}`). An inbox's deposits always go to one round shard (see `roundShardOf`), so a retry
 * finds its first attempt and an inbox's pending usage sits in one place. A peer tag is the first
 * 32 hex digits of SHA-256(origin). P is the configured prefix (default "shroud").
 */
import { toHex } from "../../protocol/bytes.js";

/** Most round shards a relay may use (each is a slot; 256 spread well over any cluster). */
export const MAX_ROUND_SHARDS = 256;

/** One round shard's keys; every one shares the shard's hash tag. */
export interface RoundShardKeys {
  /** The open round's zset: members "<inbox hex>/<message id hex>". */
  open: string;
  /** Set of closed, unreleased round ids that hold entries in this shard. */
  closed: string;
  /** A closed round's zset in this shard. */
  closedRound: (roundId: string) => string;
  /** Prefix of pending entry keys; the rest is the entry's member name. */
  entryPrefix: string;
  /** Pending item and byte counts per inbox (zsets, member inbox hex). */
  pendingItems: string;
  pendingBytes: string;
}

/**
 * Replay shards per key tag: every request adds a replay record under the current key, so one
 * set would put every request's write on one cluster slot. Fixed: every process must agree.
 */
export const REPLAY_SHARDS = 16;

/**
 * The replay shard of a record: its last two bytes modulo REPLAY_SHARDS (an `enc` is a fresh
 * public key, so records spread evenly; a client that picks its own only loads its own shard).
 *
 * @example const shard = replayShardOf(enc);
 */
export function replayShardOf(record: Uint8Array): number {
  const n = record.length;
  return (((record[n - 2] ?? 0) << 8) | (record[n - 1] ?? 0)) % REPLAY_SHARDS;
}

/**
 * The round shard of an inbox's deposits: its id's last two bytes modulo the shard count. Inbox
 * ids are hashes, so inboxes spread evenly; fixed per inbox, so a retried deposit meets its first
 * attempt (duplicate) and the inbox's pending usage is in one place (quota).
 *
 * @example const shard = roundShardOf(inboxId, 16);
 */
export function roundShardOf(inboxId: Uint8Array, shards: number): number {
  const n = inboxId.length;
  return (((inboxId[n - 2] ?? 0) << 8) | (inboxId[n - 1] ?? 0)) % shards;
}

export class RedisKeys {
  constructor(readonly prefix = "shroud") {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) throw new RangeError("invalid Redis key prefix");
  }

  inbox(inboxId: Uint8Array): { meta: string; items: string; ids: string } {
    const tag = `{${this.prefix}:i:${toHex(inboxId)}}`;
    return { meta: `${tag}:m`, items: `${tag}:q`, ids: `${tag}:d` };
  }

  get expiry(): string {
    return `{${this.prefix}:expiry}`;
  }

  /**
   * The keys of round shard `shard`. Shard 0 keeps the tag of the unsharded pool (`{P:r}`), so
   * a relay upgraded from one pool finds the rounds it left behind.
   */
  roundShard(shard: number): RoundShardKeys {
    if (!Number.isInteger(shard) || shard < 0 || shard >= MAX_ROUND_SHARDS) {
      throw new RangeError("invalid round shard");
    }
    const tag = shard === 0 ? `{${this.prefix}:r}` : `{${this.prefix}:r:${shard}}`;
    return {
      open: `${tag}:open`,
      closed: `${tag}:closed`,
      closedRound: (roundId) => `${tag}:c:${roundId}`,
      entryPrefix: `${tag}:e:`,
      pendingItems: `${tag}:pi`,
      pendingBytes: `${tag}:pb`,
    };
  }

  /** The most round shards this prefix has been used with (a one-member zset in shard 0's slot). */
  get roundShardCount(): string {
    return `{${this.prefix}:r}:n`;
  }

  /**
   * Replay records of one key tag in replay shard `shard` (see `replayShardOf`), or, without a
   * shard, the one set a relay from before replay shards kept (read until its key is gone).
   */
  replay(keyTag: string, shard?: number): string {
    if (shard === undefined) return `{${this.prefix}:x:${keyTag}}`;
    if (!Number.isInteger(shard) || shard < 0 || shard >= REPLAY_SHARDS) {
      throw new RangeError("invalid replay shard");
    }
    return `{${this.prefix}:x:${keyTag}:${shard}}`;
  }

  get keyRing(): string {
    return `{${this.prefix}:keys}`;
  }

  get metrics(): string {
    return `{${this.prefix}:m}`;
  }

  /** One federation peer's keys; `peerTag` is hex (see the table above). */
  federationPeer(peerTag: string): {
    held: string;
    entryPrefix: string;
    claim: (claimId: string) => string;
    unsent: string;
    sent: string;
  } {
    if (!/^[0-9a-f]{1,64}$/.test(peerTag)) throw new RangeError("invalid peer tag");
    const tag = `{${this.prefix}:f:${peerTag}}`;
    return {
      held: `${tag}:h`,
      entryPrefix: `${tag}:e:`,
      claim: (claimId) => `${tag}:c:${claimId}`,
      unsent: `${tag}:u`,
      sent: `${tag}:r`,
    };
  }

  /** Hash of the federation peers with held slots or unsent claims: peer tag -> origin. */
  get federationPeers(): string {
    return `{${this.prefix}:fp}`;
  }

  /** BullMQ's own key prefix for the federation delivery queue. */
  get federationQueuePrefix(): string {
    return `{${this.prefix}:fq}`;
  }

  /** BullMQ's own key prefix for the round queue. */
  get queuePrefix(): string {
    return `{${this.prefix}:q}`;
  }
}
