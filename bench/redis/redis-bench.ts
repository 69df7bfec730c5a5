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
import { writeFile } from "node:fs/promises";
import {
  measureHttpThroughput,
  type HttpThroughput,
  type HttpThroughputOptions,
} from "./redis-http-throughput.js";
import { renderLatencyChart, type LoadLevel } from "../common/latency-chart-svg.js";
import type { Figure } from "../common/figure.js";
import { measureFloor } from "../http/floor-throughput.js";
import { callsPerDeposit, measureDepositCalls } from "./redis-deposit-calls.js";
import { measureFetch100 } from "./redis-fetch.js";
import { redisVersion } from "./redis-info.js";
import { measureMemory } from "./redis-memory.js";
import {
  printDepositCalls,
  printHttpThroughput,
  printMemory,
  printRedisHeader,
  printRoundClose,
} from "./redis-report.js";
import { measureRoundClose } from "./redis-round-close.js";
import { benchRedis } from "./redis-server-process.js";
import { formatNumber, textTable } from "../common/text-table.js";
import { median } from "../common/percentile.js";

/** Warm-up of the HTTP run, before its window. */
const HTTP_WARMUP_SECONDS = 1;
const CLOSE_DEPOSITS = 10_000;
const CLOSE_INBOXES = 1_000;
const CLOSE_RUNS = 3;
const MEMORY_ITEMS = 20_000;
const MEMORY_INBOXES = 1_000;

/** Timed reads of the 100-message inbox. */
const FETCH_RUNS = 30;
/** Deposits, one at a time, whose Redis calls are counted. */
const CALL_DEPOSITS = 200;

/** One HTTP deposit run against a fresh relay on the bench's Redis. */
type HttpRun = (
  run: Pick<HttpThroughputOptions, "seconds" | "connections" | "workers">,
) => Promise<HttpThroughput>;

/** Requests in flight at each level of the latency sweep, and its window per level. */
const SWEEP_IN_FLIGHT = [1, 2, 4, 8, 16, 32, 64];
const SWEEP_SECONDS = 2;

/**
 * Deposits/s against p50/p99 latency (POST to sealed answer; the round is not waited for) at
 * rising numbers of requests in flight, each level on a fresh one-worker relay. Returns
 * latency.p99.half: the p99 of the first level that reaches half the sweep's peak rate.
 */
async function latencySweep(options: BenchOptions, httpRun: HttpRun): Promise<Figure> {
  const levels: LoadLevel[] = [];
  for (const connections of SWEEP_IN_FLIGHT) {
    const { run } = (await httpRun({ seconds: SWEEP_SECONDS, connections, workers: 1 })).load;
    levels.push({
      inFlight: connections,
      perSecond: run.perSecond,
      p50Ms: run.p50Ms,
      p99Ms: run.p99Ms,
    });
  }
  console.log(
    `Latency sweep: deposits over HTTP to serve --redis --workers 1, ${SWEEP_SECONDS} s per level`,
  );
  console.log(
    textTable(
      ["in flight", "deposits/s", "p50 ms", "p99 ms"],
      levels.map((l) => [
        String(l.inFlight),
        formatNumber(l.perSecond),
        formatNumber(l.p50Ms, 2),
        formatNumber(l.p99Ms, 2),
      ]),
      ["right", "right", "right", "right"],
    ),
  );
  const peak = Math.max(...levels.map((l) => l.perSecond));
  const half = levels.find((l) => l.perSecond >= peak / 2)!;
  console.log(
    `latency.p99.half: ${formatNumber(half.p99Ms, 2)} ms at ${formatNumber(half.perSecond)} ` +
      `deposits/s (${half.inFlight} in flight), the first level at half the peak of ` +
      `${formatNumber(peak)}/s or more.`,
  );
  if (options.latencyChart) {
    await writeFile(
      options.latencyChart,
      renderLatencyChart("Sealed 1 KiB deposits, serve --redis --workers 1", levels),
    );
    console.log(`chart written to ${options.latencyChart}`);
  }
  console.log("");
  return { name: "latency.p99.half", value: Number(half.p99Ms.toFixed(2)), unit: "ms" };
}

/**
 * Returns the named figures http.deposit.redis, http.deposit.cores, latency.p99.half,
 * redis.roundtrips.per.deposit, redis.commands.per.deposit, fetch.100, round.close.10k and
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
    const connection = new Redis(redis.url, { maxRetriesPerRequest: 3 });
    admin = connection;
    admin.on("error", () => undefined);
    printRedisHeader(redis, await redisVersion(admin));
    const httpRun: HttpRun = (run) =>
      measureHttpThroughput(
        {
          redis,
          admin: connection,
          warmupSeconds: HTTP_WARMUP_SECONDS,
          inboxes: options.inboxes,
          roundMs: options.roundMs,
          ...run,
        },
        cleanup,
      );
    // One relay process, then two: deposits per relay CPU-second should hold (no work lost to
    // coordination), though with the load client on this machine the rate cannot double.
    const runs: HttpThroughput[] = [];
    for (const workers of [1, 2]) {
      const http = await httpRun({
        seconds: options.redisSeconds,
        connections: options.redisConnections,
        workers,
      });
      printHttpThroughput(http);
      console.log("");
      runs.push(http);
    }
    const [one, two] = runs as [HttpThroughput, HttpThroughput];
    const floor = await measureFloor(
      {
        seconds: options.redisSeconds,
        warmupSeconds: HTTP_WARMUP_SECONDS,
        connections: options.redisConnections,
        inboxes: options.inboxes,
      },
      cleanup,
    );
    const floorRun = floor.load.run;
    const floorCpu =
      floor.serverCpu === undefined
        ? ""
        : `, ${formatNumber((1e6 * floor.serverCpu) / Math.max(1, floorRun.ops))} us of its CPU each`;
    const ratio = one.load.run.perSecond / floorRun.perSecond;
    console.log(
      `Floor (open + same-size sealed answer, no relay logic, no storage; bench/http/floor-server.ts): ` +
        `${formatNumber(floorRun.perSecond)} deposits/s, p50 ${formatNumber(floorRun.p50Ms, 2)} ms, ` +
        `p99 ${formatNumber(floorRun.p99Ms, 2)} ms${floorCpu}.`,
    );
    console.log(
      `http.deposit.redis: ${formatNumber(one.load.run.perSecond)} deposits/s with one worker, ` +
        `${formatNumber(ratio, 2)} of the floor.`,
    );
    console.log("");
    figures.push({
      name: "http.deposit.redis",
      value: Math.round(one.load.run.perSecond),
      unit: "deposits/s",
      floor: Math.round(floorRun.perSecond),
      ratio: Number(ratio.toFixed(3)),
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
    figures.push(await latencySweep(options, httpRun));
    const calls = await measureDepositCalls(redis, connection, CALL_DEPOSITS, cleanup);
    printDepositCalls(calls);
    figures.push(
      {
        name: "redis.roundtrips.per.deposit",
        value: Number((calls.roundTrips / calls.deposits).toFixed(2)),
        unit: "round trips",
      },
      {
        name: "redis.commands.per.deposit",
        value: Number(callsPerDeposit(calls).toFixed(2)),
        unit: "commands",
      },
    );
    const read = await measureFetch100(redis, FETCH_RUNS, cleanup);
    console.log(
      `fetch.100: ${formatNumber(read.medianMs, 2)} ms of relay time to read an inbox of ` +
        `${read.items} messages of ${read.messageBytes} B (${read.requestsPerRead} requests per ` +
        `read, median of ${read.readMs.length} reads; in-process relay on Redis, its app timed).`,
    );
    console.log("");
    figures.push({ name: "fetch.100", value: Number(read.medianMs.toFixed(2)), unit: "ms" });
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
