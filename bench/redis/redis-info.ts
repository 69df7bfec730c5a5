/**
 * Reading Redis INFO: the server version, used_memory and per-command call statistics. Call
 * statistics and CPU of a Redis Cluster are summed over its masters (serverNodes).
 */
import { Cluster, type Redis } from "ioredis";
import type { RedisClient } from "../../src/adapters/redis/redis-connection.js";

/**
 * Calls and microseconds spent per command since the server started (INFO commandstats). A
 * script's EVALSHA time includes the commands it ran, which are counted under their own names
 * too, so these do not add up to Redis's busy time (see redisCpuSeconds).
 */
export type CommandStats = Map<string, { calls: number; usec: number }>;

/** The servers behind a connection: itself, or a cluster's masters (one connection each). */
export function serverNodes(redis: RedisClient): Redis[] {
  return redis instanceof Cluster ? redis.nodes("master") : [redis];
}

/** "host:port" of one server connection. */
export function nodeAddress(node: Redis): string {
  return `${node.options.host ?? "localhost"}:${node.options.port ?? 6379}`;
}

/** One INFO section as field -> value (of one server; on a cluster, of whichever node answers). */
export async function redisInfo(
  redis: RedisClient,
  section: string,
): Promise<Record<string, string>> {
  const fields: Record<string, string> = {};
  for (const line of (await redis.info(section)).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

export async function redisVersion(redis: RedisClient): Promise<string> {
  return (await redisInfo(redis, "server"))["redis_version"] ?? "unknown";
}

/** Bytes the Redis allocator holds for data and overhead (INFO memory used_memory). */
export async function usedMemory(redis: Redis): Promise<number> {
  return Number((await redisInfo(redis, "memory"))["used_memory"]);
}

/** INFO commandstats of one server, or summed over a cluster's masters. */
export async function commandStats(redis: RedisClient): Promise<CommandStats> {
  const stats: CommandStats = new Map();
  const sections = await Promise.all(
    serverNodes(redis).map((node) => redisInfo(node, "commandstats")),
  );
  for (const section of sections) {
    for (const [field, value] of Object.entries(section)) {
      const name = field.replace(/^cmdstat_/, "");
      const sum = stats.get(name) ?? { calls: 0, usec: 0 };
      const calls = /(?:^|,)calls=(\d+)/.exec(value)?.[1];
      const usec = /(?:^|,)usec=(\d+)/.exec(value)?.[1];
      stats.set(name, { calls: sum.calls + Number(calls), usec: sum.usec + Number(usec) });
    }
  }
  return stats;
}

/** Calls in `stats` (commands a script ran counted too, as INFO commandstats counts them). */
export function totalCalls(stats: CommandStats): number {
  let calls = 0;
  for (const command of stats.values()) calls += command.calls;
  return calls;
}

/** What happened between two snapshots, busiest command first (INFO itself left out). */
export function commandStatsDelta(before: CommandStats, after: CommandStats): CommandStats {
  const delta: CommandStats = new Map();
  for (const [name, now] of after) {
    if (name === "info") continue;
    const then = before.get(name) ?? { calls: 0, usec: 0 };
    if (now.calls > then.calls) {
      delta.set(name, { calls: now.calls - then.calls, usec: now.usec - then.usec });
    }
  }
  return new Map([...delta].sort((a, b) => b[1].usec - a[1].usec));
}

/**
 * CPU seconds of Redis's main thread (INFO cpu), where commands and scripts run; this counts
 * parsing and replies too, and unlike commandstats never counts a script's commands twice. On a
 * cluster, the masters' main threads together.
 */
export async function redisCpuSeconds(redis: RedisClient): Promise<number> {
  const seconds = await Promise.all(
    serverNodes(redis).map(async (node) => {
      const cpu = await redisInfo(node, "cpu");
      const user = cpu["used_cpu_user_main_thread"] ?? cpu["used_cpu_user"];
      const sys = cpu["used_cpu_sys_main_thread"] ?? cpu["used_cpu_sys"];
      return Number(user) + Number(sys);
    }),
  );
  return seconds.reduce((sum, s) => sum + s, 0);
}

/** What one Redis server (a cluster's master) has done: since it started, or between samples. */
export interface ServerStats {
  /** "host:port". */
  address: string;
  /** CPU seconds of its main thread (INFO cpu). */
  cpuSeconds: number;
  /** Commands it ran (INFO commandstats). */
  commands: CommandStats;
}

/** Each server's figures so far: the one Redis, or every master of a cluster. */
export async function serverStats(redis: RedisClient): Promise<ServerStats[]> {
  return Promise.all(
    serverNodes(redis).map(async (node) => {
      const [cpuSeconds, commands] = await Promise.all([redisCpuSeconds(node), commandStats(node)]);
      return { address: nodeAddress(node), cpuSeconds, commands };
    }),
  );
}

/** What each server did between two samples (INFO itself left out). */
export function serverStatsDelta(before: ServerStats[], after: ServerStats[]): ServerStats[] {
  return after.map((end) => {
    const start = before.find((s) => s.address === end.address);
    if (!start) throw new Error(`Redis server ${end.address} appeared between two samples`);
    return {
      address: end.address,
      cpuSeconds: end.cpuSeconds - start.cpuSeconds,
      commands: commandStatsDelta(start.commands, end.commands),
    };
  });
}
