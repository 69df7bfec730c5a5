/**
 * Redis ports under a fresh bench prefix for an in-process relay, registered with the run's
 * cleanup: an interrupted run still deletes the prefix's keys and closes the connection.
 */
import { redisPorts, type RedisPorts } from "../../src/adapters/redis/redis-ports.js";
import { deletePrefix } from "../../src/adapters/redis/redis-prefix.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { benchPrefix } from "../common/bench-prefix.js";
import type { Cleanup } from "../common/cleanup.js";
import type { BenchRedis } from "./redis-server-process.js";

/**
 * @example
 * const { ports, close } = benchRedisPorts(redis, "fetch", cleanup);
 * try { ... } finally { await close(); }
 */
export function benchRedisPorts(
  redis: BenchRedis,
  name: string,
  cleanup: Cleanup,
): { ports: RedisPorts; prefix: string; close: () => Promise<void> } {
  const prefix = benchPrefix(name);
  const ports = redisPorts({ url: redis.url, prefix, masterKey: SecretBytes.random(32) });
  const close = cleanup.add({
    name: `redis ports ${prefix}`,
    stop: async () => {
      await deletePrefix(ports.redis, prefix);
      await ports.close();
    },
    now: () => ports.redis.disconnect(),
  });
  return { ports, prefix, close };
}
