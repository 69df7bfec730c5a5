/**
 * Every Redis key Shroud uses, built in one place. Keys are hash-tagged so a Redis Cluster keeps
 * the keys one script touches in one slot:
 *
 * | slot (hash tag)        | keys                                                         |
 * | ---------------------- | ------------------------------------------------------------ |
 * | `{P:i:<inbox id>}`     | one inbox: `:m` meta hash, `:q` items zset, `:d` message ids  |
 * | `{P:r}`                | the round pool: open round, closed rounds, entries, usage     |
 * | `{P:expiry}`           | inbox id -> the next day something in that inbox expires      |
 * | `{P:x:<key tag>}`      | replay records of one HPKE key                                |
 * | `{P:keys}`             | the encrypted key ring                                        |
 * | `{P:m}`                | aggregate metrics                                             |
 * | `{P:q}` (BullMQ prefix) | the round-closing queue and its job scheduler                |
 * | `{P:f:<peer tag>}`     | one federation peer: `:h` held slot ids zset, `:e:<id>`      |
 * |                        | slot strings, `:c:<claim id>` claimed slot ids zsets, `:u`   |
 * |                        | unsent claim ids, `:r` recently sent claim ids list          |
 * | `{P:fp}`               | federation peers with held slots or unsent claims: tag -> origin |
 * | `{P:fq}` (BullMQ prefix) | the federation delivery queue of all peers (`batches`)     |
 *
 * The round pool lives in one slot, so one shard carries all pending deposits; inboxes and
 * federation peers spread over the cluster (the one delivery queue lives in `{P:fq}`). A peer tag is
 * the first 32 hex digits of SHA-256(origin). P is the configured prefix (default "shroud").
 */
import { toHex } from "../../protocol/bytes.js";

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

  private get pool(): string {
    return `{${this.prefix}:r}`;
  }

  get openRound(): string {
    return `${this.pool}:open`;
  }

  get closedRounds(): string {
    return `${this.pool}:closed`;
  }

  closedRound(roundId: string): string {
    return `${this.pool}:c:${roundId}`;
  }

  /** Prefix of pending entry keys; the rest is the entry's member name. */
  get entryPrefix(): string {
    return `${this.pool}:e:`;
  }

  get pendingItems(): string {
    return `${this.pool}:pi`;
  }

  get pendingBytes(): string {
    return `${this.pool}:pb`;
  }

  replay(keyTag: string): string {
    return `{${this.prefix}:x:${keyTag}}`;
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
