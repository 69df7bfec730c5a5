import type { ReplaySet } from "../../relay/ports/replay-set.js";
import { buf, type RedisClient } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";

/**
 * Replay records on Redis: one set per HPKE key holding the enc of every request opened under
 * it, shared by every relay instance and kept until the key is deleted.
 *
 * @example const replay = new RedisReplaySet(connectRedis(url), new RedisKeys());
 */
export class RedisReplaySet implements ReplaySet {
  readonly durable = true;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async add(keyTag: string, enc: Uint8Array): Promise<boolean> {
    return (await this.redis.sadd(this.keys.replay(keyTag), buf(enc))) === 1;
  }

  async has(keyTag: string, enc: Uint8Array): Promise<boolean> {
    return (await this.redis.sismember(this.keys.replay(keyTag), buf(enc))) === 1;
  }

  async forget(keyTag: string): Promise<void> {
    await this.redis.unlink(this.keys.replay(keyTag));
  }
}
