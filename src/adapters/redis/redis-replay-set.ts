import type { ReplaySet } from "../../relay/ports/replay-set.js";
import { buf, type RedisClient } from "./redis-connection.js";
import { REPLAY_SHARDS, replayShardOf, type RedisKeys } from "./redis-keys.js";

/** How long a key tag's answer to "is there an unsharded set?" is trusted. */
const LEGACY_CHECK_MS = 60_000;

/**
 * Replay records on Redis: per HPKE key, REPLAY_SHARDS sets (each its own cluster slot) holding
 * the enc of every request opened under it, shared by every relay instance and kept until the key
 * is deleted.
 *
 * A relay from before replay shards kept one set per key. While such a set exists (until its key
 * is deleted: at most a key's life), each record is also looked for there, so an envelope it
 * recorded stays a replay; whether it exists is asked at most once a minute per key.
 *
 * @example const replay = new RedisReplaySet(connectRedis(url), new RedisKeys());
 */
export class RedisReplaySet implements ReplaySet {
  readonly durable = true;
  readonly #legacy = new Map<string, { exists: boolean; at: number }>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async #legacySet(keyTag: string): Promise<string | undefined> {
    const now = Date.now();
    let known = this.#legacy.get(keyTag);
    if (!known || now - known.at > LEGACY_CHECK_MS) {
      known = { exists: (await this.redis.exists(this.keys.replay(keyTag))) === 1, at: now };
      this.#legacy.set(keyTag, known);
    }
    return known.exists ? this.keys.replay(keyTag) : undefined;
  }

  async add(keyTag: string, enc: Uint8Array): Promise<boolean> {
    const legacy = await this.#legacySet(keyTag);
    const shard = this.keys.replay(keyTag, replayShardOf(enc));
    if (legacy && (await this.redis.sismember(legacy, buf(enc))) === 1) return false;
    return (await this.redis.sadd(shard, buf(enc))) === 1;
  }

  async has(keyTag: string, enc: Uint8Array): Promise<boolean> {
    const legacy = await this.#legacySet(keyTag);
    if (legacy && (await this.redis.sismember(legacy, buf(enc))) === 1) return true;
    return (
      (await this.redis.sismember(this.keys.replay(keyTag, replayShardOf(enc)), buf(enc))) === 1
    );
  }

  async forget(keyTag: string): Promise<void> {
    const sets = [
      this.keys.replay(keyTag),
      ...Array.from({ length: REPLAY_SHARDS }, (_, s) => this.keys.replay(keyTag, s)),
    ];
    // One key per call: on a cluster the sets are in different slots.
    await Promise.all(sets.map((key) => this.redis.unlink(key)));
    this.#legacy.delete(keyTag);
  }
}
