/**
 * The Redis Cluster part of `npm run bench -- --only-cluster` (`--cluster` adds it to a full
 * run): the relay on one plain redis-server, then on a 3-master Redis Cluster started on the same
 * machine (testkit/redis-cluster-fixture.ts). For each: sealed deposits/s over HTTP against
 * `shroud serve --redis URL --workers 1` with the load client in a second process (as the Redis
 * part runs it), what each server ran during the window (INFO commandstats calls and main-thread
 * CPU: how the work spreads over the shards), and round close of 10,000 pending deposits over
 * 1,000 inboxes spread over the round shards. The servers share this machine's cores with the
 * relay and the load client, so the figures show balance, not a speed-up. Everything started is
 * stopped afterwards, also on failure or Ctrl-C.
 */
import { Cluster } from "ioredis";
import { startRedisCluster } from "../../testkit/redis-cluster-fixture.js";
import { connectRedis, type RedisClient } from "../../src/adapters/redis/redis-connection.js";
import { RedisKeys } from "../../src/adapters/redis/redis-keys.js";
import { DEFAULT_ROUND_SHARDS } from "../../src/adapters/redis/redis-round-pool.js";
import type { BenchOptions } from "../common/bench-options.js";
import { Cleanup } from "../common/cleanup.js";
import type { Figure } from "../common/figure.js";
import { median } from "../common/percentile.js";
import { measureHttpThroughput } from "./redis-http-throughput.js";
import {
  nodeAddress,
  redisVersion,
  serverNodes,
  serverStats,
  serverStatsDelta,
  totalCalls,
  type ServerStats,
} from "./redis-info.js";
import { scanServer } from "./redis-prefix-contents.js";
import { measureRoundClose } from "./redis-round-close.js";
import { benchRedis, type BenchRedis } from "./redis-server-process.js";
import {
  printClusterRuns,
  type ClusterRun,
  type ServerHoldings,
  type ServerShare,
} from "./redis-cluster-report.js";

/** Masters compared: one plain redis-server, then a cluster. */
const MASTERS = [1, 3] as const;
const HTTP_WARMUP_SECONDS = 1;
/** Inboxes the HTTP deposits go to: enough to spread over every round shard and slot range. */
const HTTP_INBOXES = 256;
const CLOSE_DEPOSITS = 10_000;
const CLOSE_INBOXES = 1_000;
const CLOSE_RUNS = 3;

/** The 3-master cluster (REDIS_CLUSTER_URL if set), stopped by `cleanup`. */
async function benchRedisCluster(masters: number, cleanup: Cleanup): Promise<BenchRedis> {
  const cluster = await startRedisCluster({ masters });
  cleanup.add({
    name: "redis cluster",
    stop: () => cluster.stop(),
    // kill() sends SIGKILL before its first await: enough for the process "exit" event.
    now: () => cluster.nodes.forEach((node) => void node.kill()),
  });
  const ports = cluster.nodes.map((node) => node.port).join(",");
  return {
    url: cluster.url,
    source: cluster.source,
    pid: undefined,
    command:
      `${masters} x redis-server --port ${ports} --cluster-enabled yes --save '' --appendonly no` +
      " joined by redis-cli --cluster create --cluster-replicas 0 (testkit/redis-cluster-fixture.ts)",
  };
}

/** "host:port" of the server holding `key`'s slot. */
async function homeOf(admin: RedisClient, key: string): Promise<string> {
  if (!(admin instanceof Cluster)) return nodeAddress(admin);
  const slot = await admin.cluster("KEYSLOT", key);
  const home = admin.slots[slot]?.[0];
  if (home === undefined) throw new Error(`no node serves slot ${slot}`);
  return home;
}

/** Which server holds which of `prefix`'s slots, by server address. */
async function holdings(admin: RedisClient, prefix: string): Promise<Map<string, ServerHoldings>> {
  const keys = new RedisKeys(prefix);
  const byServer = new Map<string, ServerHoldings>();
  for (const node of serverNodes(admin)) {
    const inboxes = await scanServer(node, `{${prefix}:i:*}:m`);
    const replay = (await scanServer(node, `{${prefix}:x:*`)).length;
    byServer.set(nodeAddress(node), {
      roundShards: 0,
      inboxes: inboxes.length,
      singles: replay > 0 ? [`replay x${replay}`] : [],
    });
  }
  const holder = async (key: string) => {
    const found = byServer.get(await homeOf(admin, key));
    if (!found) throw new Error(`the server of ${key} is not a master`);
    return found;
  };
  for (let shard = 0; shard < DEFAULT_ROUND_SHARDS; shard++) {
    (await holder(keys.roundShard(shard).open)).roundShards++;
  }
  const singles: [string, string][] = [
    ["metrics", keys.metrics],
    ["round queue", keys.queuePrefix],
    ["key ring", keys.keyRing],
    ["expiry", keys.expiry],
    ["federation queue", keys.federationQueuePrefix],
  ];
  for (const [name, key] of singles) (await holder(key)).singles.push(name);
  return byServer;
}

async function shares(
  admin: RedisClient,
  prefix: string,
  stats: ServerStats[],
): Promise<ServerShare[]> {
  const held = await holdings(admin, prefix);
  return stats.map((server) => {
    const holding = held.get(server.address);
    if (!holding) throw new Error(`no holdings for ${server.address}`);
    return { ...server, ...holding };
  });
}

/** Deposits over HTTP, then the round close, on `masters` masters. */
async function measureBackend(masters: number, options: BenchOptions): Promise<ClusterRun> {
  const cleanup = new Cleanup();
  let admin: RedisClient | undefined;
  try {
    const redis =
      masters === 1 ? await benchRedis(cleanup) : await benchRedisCluster(masters, cleanup);
    const connection = connectRedis(redis.url);
    admin = connection;
    // Also waits for a cluster client to learn its nodes and slots.
    const version = await redisVersion(connection);
    const http = await measureHttpThroughput(
      {
        redis,
        admin: connection,
        seconds: options.clusterSeconds,
        warmupSeconds: HTTP_WARMUP_SECONDS,
        connections: options.redisConnections,
        inboxes: HTTP_INBOXES,
        roundMs: options.roundMs,
        workers: 1,
      },
      cleanup,
    );
    const depositServers = await shares(connection, http.prefix, http.servers);
    const before = await serverStats(connection);
    const close = await measureRoundClose(
      {
        redis,
        admin: connection,
        deposits: CLOSE_DEPOSITS,
        inboxes: CLOSE_INBOXES,
        runs: CLOSE_RUNS,
      },
      cleanup,
    );
    const during = serverStatsDelta(before, await serverStats(connection));
    const closeServers = await shares(connection, close.prefix, during);
    const calls = http.servers.map((server) => totalCalls(server.commands));
    return {
      masters,
      redis,
      version,
      http,
      depositServers,
      commandsPerDeposit: calls.reduce((sum, c) => sum + c, 0) / Math.max(1, http.load.run.ops),
      balance: Math.max(...calls) === 0 ? 0 : Math.min(...calls) / Math.max(...calls),
      close,
      closeServers,
    };
  } finally {
    await cleanup.close();
    admin?.disconnect();
  }
}

/**
 * Returns the figures cluster.deposit.1 and .3 (deposits/s), cluster.ops.per.deposit.3,
 * cluster.balance.3 and cluster.round.close.10k.1 and .3 (ms).
 *
 * @example const figures = await runClusterBench(parseBenchOptions(["--only-cluster"]));
 */
export async function runClusterBench(options: BenchOptions): Promise<Figure[]> {
  const started = performance.now();
  const runs: ClusterRun[] = [];
  for (const masters of MASTERS) runs.push(await measureBackend(masters, options));
  printClusterRuns(runs, (performance.now() - started) / 1000);
  const figures: Figure[] = [];
  for (const run of runs) {
    figures.push({
      name: `cluster.deposit.${run.masters}`,
      value: Math.round(run.http.load.run.perSecond),
      unit: "deposits/s",
    });
  }
  const cluster = runs[runs.length - 1]!;
  figures.push({
    name: `cluster.ops.per.deposit.${cluster.masters}`,
    value: Number(cluster.commandsPerDeposit.toFixed(2)),
    unit: "commands",
  });
  figures.push({
    name: `cluster.balance.${cluster.masters}`,
    value: Number(cluster.balance.toFixed(3)),
    unit: "ratio",
  });
  for (const run of runs) {
    figures.push({
      name: `cluster.round.close.10k.${run.masters}`,
      value: Math.round(median(run.close.closeMs)),
      unit: "ms",
    });
  }
  return figures;
}
