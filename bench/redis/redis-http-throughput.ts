/**
 * Sealed deposits per second end to end over HTTP against a relay on Redis: the relay in one
 * child process (`shroud serve --redis`), the load client in another (http-load-client.ts), on
 * loopback. While the load client's window runs, this process samples the CPU time of every
 * process and Redis's per-command statistics, so the figures say where the time went; on a Redis
 * Cluster, the statistics of each master as well.
 */
import type { RedisClient } from "../../src/adapters/redis/redis-connection.js";
import { RedisKeys } from "../../src/adapters/redis/redis-keys.js";
import { RedisMetrics } from "../../src/adapters/redis/redis-metrics.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { deletePrefix } from "../../src/adapters/redis/redis-prefix.js";
import { benchPrefix } from "../common/bench-prefix.js";
import type { Cleanup } from "../common/cleanup.js";
import type { HttpLoadResult } from "../http/http-load-report.js";
import { machineCpuSeconds, processCpuSeconds } from "../common/process-cpu.js";
import { descendants } from "../common/process-tree.js";
import {
  commandStats,
  commandStatsDelta,
  redisCpuSeconds,
  serverStats,
  serverStatsDelta,
  type CommandStats,
  type ServerStats,
} from "./redis-info.js";
import { prefixContents, type PrefixContents } from "./redis-prefix-contents.js";
import type { BenchRedis } from "./redis-server-process.js";
import { startBenchRelay } from "../common/bench-relay-process.js";
import { startLoadClient } from "../http/load-client-process.js";

export interface HttpThroughputOptions {
  redis: BenchRedis;
  /** A connection for INFO and the relay's metrics (a Cluster client on a Redis Cluster). */
  admin: RedisClient;
  seconds: number;
  warmupSeconds: number;
  connections: number;
  inboxes: number;
  roundMs: number;
  /** `serve --workers`: relay processes behind the port. */
  workers: number;
}

/** CPU seconds used during the measured window (undefined where /proc is not available). */
export interface WindowCpu {
  seconds: number;
  /** The relay's processes together (its workers with --workers). */
  relay: number | undefined;
  /** The redis-server process (own server only). */
  redis: number | undefined;
  /** Redis's main thread, from INFO cpu (any server). */
  redisMain: number;
  loadClient: number | undefined;
  /** All cores together: busy and total CPU seconds of the machine. */
  machine: { busy: number; total: number } | undefined;
}

export interface HttpThroughput {
  /** `serve --workers`. */
  workers: number;
  relayCommand: string;
  loadCommand: string;
  prefix: string;
  load: HttpLoadResult;
  cpu: WindowCpu;
  /** Redis commands run during the window (all clients: relay, BullMQ, this process's INFO). */
  commands: CommandStats;
  /** The same per server: the one Redis, or each master of a cluster. */
  servers: ServerStats[];
  /** From the relay's metrics in Redis once it stopped (it delivers its open round on SIGTERM). */
  accepted: number;
  delivered: number;
  /** What the prefix holds once the relay stopped, counted from the keys. */
  contents: PrefixContents;
}

interface Snapshot {
  at: number;
  relay: number | undefined;
  redis: number | undefined;
  loadClient: number | undefined;
  machine: { busy: number; total: number } | undefined;
  redisMain: Promise<number>;
  commands: Promise<CommandStats>;
  servers: Promise<ServerStats[]>;
}

function snapshot(admin: RedisClient, pids: (number | undefined)[]): Snapshot {
  return {
    at: performance.now(),
    relay: treeCpuSeconds(pids[0]),
    redis: processCpuSeconds(pids[1]),
    loadClient: processCpuSeconds(pids[2]),
    machine: machineCpuSeconds(),
    redisMain: redisCpuSeconds(admin),
    commands: commandStats(admin),
    servers: serverStats(admin),
  };
}

/** CPU seconds of `pid` and every process below it (a relay's workers). */
function treeCpuSeconds(pid: number | undefined): number | undefined {
  const own = processCpuSeconds(pid);
  if (own === undefined || pid === undefined) return own;
  let total = own;
  for (const child of descendants(pid)) total += processCpuSeconds(child.pid) ?? 0;
  return total;
}

function minus(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a - b;
}

/**
 * @example const figures = await measureHttpThroughput({ redis, admin, seconds: 5, ... }, cleanup);
 */
export async function measureHttpThroughput(
  options: HttpThroughputOptions,
  cleanup: Cleanup,
): Promise<HttpThroughput> {
  const prefix = benchPrefix("http");
  if (options.redis.source !== "redis-server") {
    cleanup.add({
      name: `keys ${prefix}`,
      stop: async () => void (await deletePrefix(options.admin, prefix)),
      now: () => undefined,
    });
  }
  const relay = await startBenchRelay(
    { redisUrl: options.redis.url, prefix, roundMs: options.roundMs, workers: options.workers },
    cleanup,
  );
  const load = startLoadClient(relay.url, options, cleanup);
  const pids = [relay.pid, options.redis.pid, load.pid];
  let start: Snapshot | undefined;
  const result = await load.result(() => (start = snapshot(options.admin, pids)));
  const end = snapshot(options.admin, pids);
  await relay.stop();
  if (!start) throw new Error("the load client never reported its window start");
  const metrics = new RedisMetrics(options.admin, new RedisKeys(prefix));
  const machine =
    start.machine && end.machine
      ? {
          busy: end.machine.busy - start.machine.busy,
          total: end.machine.total - start.machine.total,
        }
      : undefined;
  return {
    workers: options.workers,
    relayCommand: relay.command,
    loadCommand: load.command,
    prefix,
    load: result,
    cpu: {
      seconds: (end.at - start.at) / 1000,
      relay: minus(end.relay, start.relay),
      redis: minus(end.redis, start.redis),
      redisMain: (await end.redisMain) - (await start.redisMain),
      loadClient: minus(end.loadClient, start.loadClient),
      machine,
    },
    commands: commandStatsDelta(await start.commands, await end.commands),
    servers: serverStatsDelta(await start.servers, await end.servers),
    accepted: await metrics.counter(MetricName.requests, { kind: "deposit", status: "accepted" }),
    delivered: await metrics.counter(MetricName.itemsDelivered),
    contents: await prefixContents(options.admin, prefix),
  };
}
