import { Redis } from "ioredis";
import { defineScripts } from "./redis-scripts.js";

/** Views bytes as a Buffer without copying (ioredis would stringify a plain Uint8Array). */
export function buf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Opens a connection with Shroud's scripts registered. Requests fail after a few retries
 * rather than queueing for ever, so a relay answers "internal" while Redis is away.
 *
 * @example const redis = connectRedis("redis://127.0.0.1:6379");
 */
export function connectRedis(url: string, options: { forBullMq?: boolean } = {}): Redis {
  const redis = new Redis(url, {
    // BullMQ workers block on Redis and require unlimited retries per request.
    maxRetriesPerRequest: options.forBullMq ? null : 3,
    enableAutoPipelining: !options.forBullMq,
    lazyConnect: false,
  });
  // Connection errors surface on the commands that need Redis; the event itself would only be
  // an unhandled-error crash or log noise.
  redis.on("error", () => undefined);
  defineScripts(redis);
  return redis;
}
