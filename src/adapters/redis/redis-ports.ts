import { ConfigError } from "../../protocol/errors.js";
import type { SecretBytes } from "../../protocol/secret-bytes.js";
import { systemClock, type Clock } from "../../relay/ports/clock.js";
import type { DepositIntake } from "../../relay/ports/deposit-intake.js";
import type { RelayPorts } from "../../relay/relay.js";
import { BullMqRoundScheduler } from "./bullmq-round-scheduler.js";
import { connectRedis, redisHosts, type RedisClient } from "./redis-connection.js";
import { RedisDepositIntake } from "./redis-deposit-intake.js";
import { RedisFederationQueue } from "./redis-federation-queue.js";
import { RedisInboxStore } from "./redis-inbox-store.js";
import { RedisKeyStore } from "./redis-key-store.js";
import { RedisKeys } from "./redis-keys.js";
import { RedisMetrics } from "./redis-metrics.js";
import { RedisReplaySet } from "./redis-replay-set.js";
import { RedisRoundPool } from "./redis-round-pool.js";

/** Where the Redis backend keeps its state and how it seals the key ring. */
export interface RedisPortsOptions {
  /** redis://, rediss:// or redis+cluster:// URL (see `parseRedisTarget`). */
  url: string;
  /** Key prefix (default "shroud"); relays sharing a prefix share everything. */
  prefix?: string;
  /** 32-byte key that encrypts the relay's key ring at rest. */
  masterKey: SecretBytes;
  /**
   * Redis for the BullMQ round queue, if not `url`. Round jobs carry timestamps; on a Redis of
   * their own (which needs no persistence: a lost round job is made up by the next) they stay
   * out of the AOF that holds deposits.
   */
  queueUrl?: string;
  clock?: Clock;
  /** Most inboxes the relay holds (default 1,000,000); deposits to new ones then get `quota`. */
  maxInboxes?: number;
  /** Round shards the round pool is split into (default 16; see RedisRoundPool). */
  roundShards?: number;
}

/** The Redis backend's ports, with concrete types for tests and the CLI. */
export interface RedisPorts extends RelayPorts {
  inboxes: RedisInboxStore;
  pool: RedisRoundPool;
  replay: RedisReplaySet;
  deposits: DepositIntake;
  keys: RedisKeyStore;
  metrics: RedisMetrics;
  federation: RedisFederationQueue;
  redis: RedisClient;
  /**
   * Rejects (ConfigError) when `url` names one node of a Redis Cluster as a plain server: its
   * keys would be spread over nodes this connection cannot reach. Call once before use.
   */
  verify(): Promise<void>;
  /** Resolves when the round queue's Redis answers (`queueUrl`, or `url`), after start. */
  pingQueue(): Promise<void>;
  /** Closes the connections (after the relay has stopped). */
  close(): Promise<void>;
}

/**
 * Every port on one Redis (ioredis) with rounds on BullMQ; on one server a deposit is one
 * script (RedisDepositIntake).
 *
 * @example
 * const ports = redisPorts({ url: "redis://127.0.0.1:6379", masterKey });
 * const relay = await Relay.open(config, ports);
 */
export function redisPorts(options: RedisPortsOptions): RedisPorts {
  const keys = new RedisKeys(options.prefix);
  const redis = connectRedis(options.url);
  const metrics = new RedisMetrics(redis, keys);
  // Federation batches must survive a restart: their queues stay on `url`, not `queueUrl`.
  const federation = new RedisFederationQueue(redis, options.url, keys);
  const rounds = new BullMqRoundScheduler(options.queueUrl ?? options.url, keys, metrics);
  const inboxes = new RedisInboxStore(redis, keys, options.maxInboxes);
  const pool = new RedisRoundPool(redis, keys, options.roundShards);
  const replay = new RedisReplaySet(redis, keys);
  return {
    inboxes,
    pool,
    replay,
    deposits: new RedisDepositIntake(redis, keys, { inboxes, pool, replay }),
    keys: new RedisKeyStore(redis, keys, options.masterKey),
    clock: options.clock ?? systemClock,
    metrics,
    rounds,
    async verify() {
      if (redis.isCluster) return;
      const info = await redis.info("cluster");
      if (/^cluster_enabled:1\b/m.test(info)) {
        const where = redisHosts(options.url);
        throw new ConfigError(
          `Redis at ${where} is a cluster node: give the cluster as redis+cluster://${where}`,
        );
      }
    },
    pingQueue: () => rounds.ping(),
    federation,
    redis,
    async close() {
      await federation.close();
      await metrics.flush();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
