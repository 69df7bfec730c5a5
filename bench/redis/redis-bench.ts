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
import { measureHttpThroughput } from "./redis-http-throughput.js";
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

/** Warm-up of the HTTP run, before its window. */
const HTTP_WARMUP_SECONDS = 1;
const CLOSE_DEPOSITS = 10_000;
const CLOSE_INBOXES = 1_000;
const CLOSE_RUNS = 3;
const MEMORY_ITEMS = 20_000;
const MEMORY_INBOXES = 1_000;

/**
 * @example await runRedisBench(parseBenchOptions());
 */
export async function runRedisBench(options: BenchOptions): Promise<void> {
  const started = performance.now();
  const cleanup = new Cleanup();
  let admin: Redis | undefined;
  try {
    const redis = await benchRedis(cleanup);
    admin = new Redis(redis.url, { maxRetriesPerRequest: 3 });
    admin.on("error", () => undefined);
    printRedisHeader(redis, await redisVersion(admin));
    const http = await measureHttpThroughput(
      {
        redis,
        admin,
        seconds: options.redisSeconds,
        warmupSeconds: HTTP_WARMUP_SECONDS,
        connections: options.redisConnections,
        inboxes: options.inboxes,
        roundMs: options.roundMs,
      },
      cleanup,
    );
    printHttpThroughput(http);
    const close = await measureRoundClose(
      { redis, admin, deposits: CLOSE_DEPOSITS, inboxes: CLOSE_INBOXES, runs: CLOSE_RUNS },
      cleanup,
    );
    printRoundClose(close);
    const memory = await measureMemory(
      { redis, admin, items: MEMORY_ITEMS, inboxes: MEMORY_INBOXES },
      cleanup,
    );
    printMemory(memory);
  } finally {
    await cleanup.close();
    admin?.disconnect();
  }
  console.log(
    `Redis part: ${formatNumber((performance.now() - started) / 1000, 1)} s, cleaned up ` +
      "(child processes stopped, redis-server's directory removed).",
  );
}
