/**
 * The Redis part of `npm run bench`: a Redis (REDIS_URL, or a redis-server of its own), then
 * sealed deposits/s over HTTP against `shroud serve --redis` with the load in a second process,
 * round close time for 10,000 pending deposits, and Redis memory per stored item. Every child
 * process, temporary directory and (on a shared Redis) key it creates is removed afterwards,
 * also on failure or Ctrl-C.
 */
import { Redis } from "ioredis";
import type { BenchOptions } from "../common/bench-options.js";
import { Cleanup } from "../common/cleanup.js";
import { measureHttpThroughput, type HttpThroughput } from "./redis-http-throughput.js";
import type { Figure } from "../common/figure.js";
import { redisVersion } from "./redis-info.js";
import { measureMemory } from "./redis-memory.js";
import {
  printHttpThroughput,
  printMemory,
  printRedisHeader,
  printRoundClose,
} from "./redis-report.js";
import { measureRoundClose } from "./redis-round-close.js";
import { benchRedis } from "./redis-server-process.js";
import { formatNumber } from "../common/text-table.js";
import { median } from "../common/percentile.js";

/** Warm-up of the HTTP run, before its window. */
const HTTP_WARMUP_SECONDS = 1;
const CLOSE_DEPOSITS = 10_000;
const CLOSE_INBOXES = 1_000;
const CLOSE_RUNS = 3;
const MEMORY_ITEMS = 20_000;
const MEMORY_INBOXES = 1_000;

/**
 * Returns the named figures http.deposit.redis, http.deposit.cores, round.close.10k and
 * redis.bytes.per.item.
 *
 * @example const figures = await runRedisBench(parseBenchOptions());
 */
export async function runRedisBench(options: BenchOptions): Promise<Figure[]> {
  const started = performance.now();
  const figures: Figure[] = [];
  const cleanup = new Cleanup();
  let admin: Redis | undefined;
  try {
    const redis = await benchRedis(cleanup);
    admin = new Redis(redis.url, { maxRetriesPerRequest: 3 });
    admin.on("error", () => undefined);
    printRedisHeader(redis, await redisVersion(admin));
    // One relay process, then two: deposits per relay CPU-second should hold (no work lost to
    // coordination), though with the load client on this machine the rate cannot double.
    const runs: HttpThroughput[] = [];
    for (const workers of [1, 2]) {
      const http = await measureHttpThroughput(
        {
          redis,
          admin,
          seconds: options.redisSeconds,
          warmupSeconds: HTTP_WARMUP_SECONDS,
          connections: options.redisConnections,
          inboxes: options.inboxes,
          roundMs: options.roundMs,
          workers,
        },
        cleanup,
      );
      printHttpThroughput(http);
      console.log("");
      runs.push(http);
    }
    const [one, two] = runs as [HttpThroughput, HttpThroughput];
    figures.push({
      name: "http.deposit.redis",
      value: Math.round(one.load.run.perSecond),
      unit: "deposits/s",
    });
    const perCpu = (run: HttpThroughput) =>
      run.cpu.relay === undefined ? undefined : run.load.run.ops / run.cpu.relay;
    const [perCpuOne, perCpuTwo] = [perCpu(one), perCpu(two)];
    if (perCpuOne !== undefined && perCpuTwo !== undefined) {
      const ratio = perCpuTwo / perCpuOne;
      console.log(
        `http.deposit.cores: ${formatNumber(perCpuTwo)} deposits per relay CPU-second with 2 ` +
          `workers, ${formatNumber(perCpuOne)} with 1: ${formatNumber(ratio, 2)} ` +
          `(${formatNumber(two.load.run.perSecond)} against ${formatNumber(one.load.run.perSecond)} deposits/s).`,
      );
      console.log("");
      figures.push({ name: "http.deposit.cores", value: Number(ratio.toFixed(3)), unit: "ratio" });
    }
    const close = await measureRoundClose(
      { redis, admin, deposits: CLOSE_DEPOSITS, inboxes: CLOSE_INBOXES, runs: CLOSE_RUNS },
      cleanup,
    );
    printRoundClose(close);
    figures.push({ name: "round.close.10k", value: Math.round(median(close.closeMs)), unit: "ms" });
    const memory = await measureMemory(
      { redis, admin, items: MEMORY_ITEMS, inboxes: MEMORY_INBOXES },
      cleanup,
    );
    printMemory(memory);
    figures.push({
      name: "redis.bytes.per.item",
      value: Math.round(memory.delivered.bytes / memory.delivered.count),
      unit: "bytes",
    });
  } finally {
    await cleanup.close();
    admin?.disconnect();
  }
  console.log(
    `Redis part: ${formatNumber((performance.now() - started) / 1000, 1)} s, cleaned up ` +
      "(child processes stopped, redis-server's directory removed).",
  );
  return figures;
}
