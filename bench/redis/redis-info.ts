/** Reading Redis INFO: the server version, used_memory and per-command call statistics. */
import type { Redis } from "ioredis";

/**
 * Calls and microseconds spent per command since the server started (INFO commandstats). A
 * script's EVALSHA time includes the commands it ran, which are counted under their own names
 * too, so these do not add up to Redis's busy time (see redisCpuSeconds).
 */
export type CommandStats = Map<string, { calls: number; usec: number }>;

/** One INFO section as field -> value. */
export async function redisInfo(redis: Redis, section: string): Promise<Record<string, string>> {
  const fields: Record<string, string> = {};
  for (const line of (await redis.info(section)).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

export async function redisVersion(redis: Redis): Promise<string> {
  return (await redisInfo(redis, "server"))["redis_version"] ?? "unknown";
}

/** Bytes the Redis allocator holds for data and overhead (INFO memory used_memory). */
export async function usedMemory(redis: Redis): Promise<number> {
  return Number((await redisInfo(redis, "memory"))["used_memory"]);
}

export async function commandStats(redis: Redis): Promise<CommandStats> {
  const stats: CommandStats = new Map();
  for (const [field, value] of Object.entries(await redisInfo(redis, "commandstats"))) {
    const calls = /(?:^|,)calls=(\d+)/.exec(value)?.[1];
    const usec = /(?:^|,)usec=(\d+)/.exec(value)?.[1];
    stats.set(field.replace(/^cmdstat_/, ""), { calls: Number(calls), usec: Number(usec) });
  }
  return stats;
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
 * parsing and replies too, and unlike commandstats never counts a script's commands twice.
 */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const cpu = await redisInfo(redis, "cpu");
  const user = cpu["used_cpu_user_main_thread"] ?? cpu["used_cpu_user"];
  const sys = cpu["used_cpu_sys_main_thread"] ?? cpu["used_cpu_sys"];
  return Number(user) + Number(sys);
}
