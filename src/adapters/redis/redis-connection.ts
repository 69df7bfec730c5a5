import { Cluster, Redis } from "ioredis";
import { defineScripts } from "./redis-scripts.js";

/** A connection to one Redis server or to a Redis Cluster; both speak the same commands. */
export type RedisClient = Redis | Cluster;

/** Where Redis is: one server by its URL, or a cluster by its seed nodes. */
export type RedisTarget =
  | { kind: "server"; url: string }
  | {
      kind: "cluster";
      nodes: { host: string; port: number }[];
      tls: boolean;
      username: string | undefined;
      password: string | undefined;
    };

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\/(.*)$/;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;

/**
 * Reads a Redis location: `redis://` or `rediss://` for one server, or
 * `redis+cluster://[user:password@]host:port[,host:port...]` (`rediss+cluster://` for TLS) for a
 * Redis Cluster given by one or more of its nodes (the client learns the others from them).
 * Errors never repeat the text, which may hold a password.
 *
 * @example parseRedisTarget("redis+cluster://10.0.0.1:7000,10.0.0.2:7000")
 */
export function parseRedisTarget(text: string): RedisTarget {
  if (/^rediss?:\/\//.test(text)) return { kind: "server", url: text };
  const cluster = CLUSTER_SCHEME.exec(text);
  if (!cluster) {
    throw new RangeError("must be a redis://, rediss:// or redis+cluster:// URL");
  }
  let rest = cluster[2]!;
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    const credentials = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = credentials.indexOf(":");
    try {
      username = decodeURIComponent(colon < 0 ? credentials : credentials.slice(0, colon));
      password = colon < 0 ? undefined : decodeURIComponent(credentials.slice(colon + 1));
    } catch {
      throw new RangeError("a redis+cluster:// URL's credentials are not percent-encoded");
    }
    if (username === "") username = undefined;
  }
  rest = rest.replace(/\/$/, "");
  const nodes = rest.split(",").map((node) => {
    const match = HOST_PORT.exec(node);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      throw new RangeError("a redis+cluster:// URL lists host:port nodes separated by commas");
    }
    return { host: match[1]!.replace(/^\[|\]$/g, ""), port };
  });
  return { kind: "cluster", nodes, tls: cluster[1] === "rediss", username, password };
}

/**
 * The host:port pairs of a Redis location, without credentials, for messages.
 *
 * @example redisHosts("redis://:secret@10.0.0.1:6379") // "10.0.0.1:6379"
 */
export function redisHosts(url: string): string {
  const target = parseRedisTarget(url);
  if (target.kind === "cluster") return target.nodes.map((n) => `${n.host}:${n.port}`).join(",");
  try {
    return new URL(target.url).host;
  } catch {
    return "(unreadable URL)";
  }
}

/** Views bytes as a Buffer without copying (ioredis would stringify a plain Uint8Array). */
export function buf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Opens a connection (see `parseRedisTarget` for the forms of `url`) with Shroud's scripts
 * registered. Requests fail after a few retries rather than queueing for ever, so a relay
 * answers "internal" while Redis is away.
 *
 * @example const redis = connectRedis("redis://127.0.0.1:6379");
 */
export function connectRedis(url: string, options: { forBullMq?: boolean } = {}): RedisClient {
  const target = parseRedisTarget(url);
  // BullMQ workers block on Redis and require unlimited retries per request.
  const maxRetriesPerRequest = options.forBullMq ? null : 3;
  const enableAutoPipelining = !options.forBullMq;
  const redis =
    target.kind === "server"
      ? new Redis(target.url, { maxRetriesPerRequest, enableAutoPipelining, lazyConnect: false })
      : new Cluster(target.nodes, {
          // Off on a cluster: ioredis does not follow a MOVED reply inside an automatic
          // pipeline, so after a master restarted, commands failed until its slot map was
          // reloaded (seen in the master-restart test). Commands still share each connection.
          // Deposits and reads must see what was just written: masters only.
          scaleReads: "master",
          redisOptions: {
            maxRetriesPerRequest,
            ...(target.username === undefined ? {} : { username: target.username }),
            ...(target.password === undefined ? {} : { password: target.password }),
            ...(target.tls ? { tls: {} } : {}),
          },
        });
  // Connection errors surface on the commands that need Redis; the event itself would only be
  // an unhandled-error crash or log noise.
  redis.on("error", () => undefined);
  defineScripts(redis);
  return redis;
}

/**
 * Runs commands whose order matters (a registration before what it registers). On one server
 * they are sent at once, in order, on one connection (one round trip with auto-pipelining); on a
 * cluster their keys may live on different nodes, which keep no order between them, so each
 * waits for the one before.
 *
 * @example await inOrder(redis, [() => redis.zadd(index, 1, id), () => redis.hset(key, "a", 1)]);
 */
export async function inOrder<T>(
  redis: RedisClient,
  steps: readonly (() => Promise<T>)[],
): Promise<T[]> {
  if (!redis.isCluster) return Promise.all(steps.map((step) => step()));
  const results: T[] = [];
  for (const step of steps) results.push(await step());
  return results;
}
