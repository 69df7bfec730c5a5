/**
 * Round close time on Redis, in-process: 10,000 pending deposits over 1,000 admitted inboxes,
 * then one RoundCloser.close() (pool.close, then per page of 1,000: read, shuffle, pipelined
 * appendRound, release) timed. A last round is closed step by step, each step timed and its
 * Redis-side execution time taken from INFO commandstats, to show where a close spends its time.
 * `measureLargeRoundClose` fills one round of 100,000s of entries and times its close.
 */
import { memoryUsage } from "node:process";
import type { Redis } from "ioredis";
import type { RedisClient } from "../../src/adapters/redis/redis-connection.js";
import { redisPorts, type RedisPorts } from "../../src/adapters/redis/redis-ports.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { dayOf } from "../../src/relay/ports/clock.js";
import { DEFAULT_PAGE_LIMIT } from "../../src/relay/ports/round-pool.js";
import type { RoundEntry } from "../../src/relay/ports/inbox-store.js";
import { DEFAULT_RELAY_CONFIG } from "../../src/relay/relay-config.js";
import { RoundCloser } from "../../src/relay/round-closer.js";
import { secureShuffle } from "../../src/relay/shuffle.js";
import { deletePrefix } from "../../src/adapters/redis/redis-prefix.js";
import { benchPrefix } from "../common/bench-prefix.js";
import type { Cleanup } from "../common/cleanup.js";
import {
  commandStats,
  commandStatsDelta,
  redisCpuSeconds,
  usedMemory,
  type CommandStats,
} from "./redis-info.js";
import { prefixContents, type PrefixContents } from "./redis-prefix-contents.js";
import type { BenchRedis } from "./redis-server-process.js";

/** A 1 KiB item: what a deposit of a small message stores (the smallest bucket). */
const ITEM_BYTES = 1024;
const ID_BYTES = 32;
const MESSAGE_ID_BYTES = 16;
/** pool.add calls in flight at once while filling (ioredis pipelines them automatically). */
const FILL_BATCH = 1000;

export interface RoundCloseOptions {
  redis: BenchRedis;
  /** For INFO and the checks (a Cluster client on a Redis Cluster: its masters summed). */
  admin: RedisClient;
  deposits: number;
  inboxes: number;
  /** Timed closer.close() runs (each on a freshly filled round). */
  runs: number;
}

export interface TimedStep {
  name: string;
  ms: number;
  /** CPU time of Redis's main thread meanwhile (all clients). */
  redisCpuMs: number;
  /** What Redis executed meanwhile (all clients). */
  commands: CommandStats;
}

export interface RoundClose {
  /** The key prefix the rounds were filled and closed under. */
  prefix: string;
  deposits: number;
  inboxes: number;
  /** pool.add calls in flight while filling. */
  fillInFlight: number;
  /** ms of each timed closer.close(). */
  closeMs: number[];
  /** Authorizing the inboxes, one filling of the pool, and the step-by-step close. */
  admit: TimedStep;
  fill: TimedStep;
  steps: TimedStep[];
  /** What the prefix holds afterwards (all items delivered, nothing pending), and what should. */
  contents: PrefixContents;
  expected: number;
}

async function timed<T>(
  admin: RedisClient,
  name: string,
  work: () => Promise<T>,
): Promise<[TimedStep, T]> {
  const before = await commandStats(admin);
  const cpuBefore = await redisCpuSeconds(admin);
  const started = performance.now();
  const value = await work();
  const ms = performance.now() - started;
  const redisCpuMs = ((await redisCpuSeconds(admin)) - cpuBefore) * 1000;
  const commands = commandStatsDelta(before, await commandStats(admin));
  return [{ name, ms, redisCpuMs, commands }, value];
}

async function fill(ports: RedisPorts, inboxIds: Uint8Array[], deposits: number): Promise<void> {
  const quota = { stored: { items: 0, bytes: 0 }, ...DEFAULT_RELAY_CONFIG.quota };
  for (let start = 0; start < deposits; start += FILL_BATCH) {
    const adds: Promise<string>[] = [];
    for (let i = start; i < Math.min(deposits, start + FILL_BATCH); i++) {
      const entry: RoundEntry = {
        inboxId: inboxIds[i % inboxIds.length]!,
        messageId: randomBytes(MESSAGE_ID_BYTES),
        item: randomBytes(ITEM_BYTES),
      };
      adds.push(ports.pool.add(entry, quota));
    }
    const refused = (await Promise.all(adds)).filter((r) => r !== "added");
    if (refused.length > 0) throw new Error(`pool.add answered ${refused[0]}`);
  }
}

/** Adds `step`'s figures to `total` (a step repeated once per page). */
function accumulate(total: TimedStep | undefined, step: TimedStep): TimedStep {
  if (!total) return step;
  const commands = new Map(total.commands);
  for (const [name, { calls, usec }] of step.commands) {
    const sum = commands.get(name) ?? { calls: 0, usec: 0 };
    commands.set(name, { calls: sum.calls + calls, usec: sum.usec + usec });
  }
  return {
    name: total.name,
    ms: total.ms + step.ms,
    redisCpuMs: total.redisCpuMs + step.redisCpuMs,
    commands: new Map([...commands].sort((a, b) => b[1].usec - a[1].usec)),
  };
}

/**
 * The steps of RoundCloser's #closeOnce and #deliver, timed one by one; the per-page steps
 * (read, shuffle, append, release) are summed over the round's pages.
 */
async function closeStepByStep(
  ports: RedisPorts,
  admin: RedisClient,
  expiresDay: number,
): Promise<TimedStep[]> {
  const [unreleasedStep, unreleased] = await timed(admin, "pool.unreleased()", () =>
    ports.pool.unreleased(),
  );
  if (unreleased.length > 0) throw new Error("a closed round was left unreleased");
  const [closeStep, round] = await timed(admin, "pool.close(): pool-close.lua (rename)", () =>
    ports.pool.close(),
  );
  if (round === undefined) throw new Error("the filled round closed empty");
  let pages = 0;
  const totals: (TimedStep | undefined)[] = [undefined, undefined, undefined, undefined];
  for (let empty = false; !empty; pages++) {
    const [pageStep, page] = await timed(admin, "pool.page(): pool-page.lua", () =>
      ports.pool.page(round, DEFAULT_PAGE_LIMIT),
    );
    const [shuffleStep, entries] = await timed(
      admin,
      "secureShuffle (relay/shuffle.ts)",
      async () => secureShuffle(page),
    );
    const [appendStep] = await timed(admin, "inboxes.appendRound(): pipelined", () =>
      ports.inboxes.appendRound(entries, expiresDay),
    );
    const [releaseStep, released] = await timed(admin, "pool.release(): pool-release.lua", () =>
      ports.pool.release(round, page),
    );
    [pageStep, shuffleStep, appendStep, releaseStep].forEach((step, i) => {
      totals[i] = accumulate(totals[i], step);
    });
    empty = released || page.length === 0;
  }
  const perPage = totals.map((step) => ({ ...step!, name: `${step!.name}, ${pages} pages` }));
  return [unreleasedStep, closeStep, ...perPage];
}

/**
 * Ports on a fresh bench prefix; on a shared Redis (REDIS_URL) the prefix's keys are deleted at
 * cleanup.
 */
function benchPorts(
  options: { redis: RoundCloseOptions["redis"]; admin: RedisClient },
  cleanup: Cleanup,
  name: string,
): { ports: RedisPorts; prefix: string } {
  const prefix = benchPrefix(name);
  if (options.redis.source !== "redis-server") {
    cleanup.add({
      name: `keys ${prefix}`,
      stop: async () => void (await deletePrefix(options.admin, prefix)),
      now: () => undefined,
    });
  }
  return {
    ports: redisPorts({ url: options.redis.url, prefix, masterKey: SecretBytes.random(32) }),
    prefix,
  };
}

/**
 * @example const figures = await measureRoundClose({ redis, admin, deposits: 10_000, ... }, cleanup);
 */
export async function measureRoundClose(
  options: RoundCloseOptions,
  cleanup: Cleanup,
): Promise<RoundClose> {
  const { ports, prefix } = benchPorts(options, cleanup, "close");
  try {
    const { admin } = options;
    const retention = DEFAULT_RELAY_CONFIG.retentionDays;
    const expiresDay = dayOf(ports.clock.now()) + retention;
    const inboxIds = Array.from({ length: options.inboxes }, () => randomBytes(ID_BYTES));
    const [admit] = await timed(admin, `admit ${options.inboxes} inboxes`, () =>
      Promise.all(inboxIds.map((id) => ports.inboxes.admit(id, randomBytes(16), expiresDay))),
    );
    const closer = new RoundCloser(
      ports.pool,
      ports.inboxes,
      ports.clock,
      ports.metrics,
      retention,
    );
    const closeMs: number[] = [];
    let fillStep: TimedStep | undefined;
    for (let run = 0; run < options.runs; run++) {
      const [step] = await timed(admin, `fill: ${options.deposits} pool.add`, () =>
        fill(ports, inboxIds, options.deposits),
      );
      fillStep ??= step;
      const started = performance.now();
      await closer.close();
      closeMs.push(performance.now() - started);
    }
    await fill(ports, inboxIds, options.deposits);
    const steps = await closeStepByStep(ports, admin, expiresDay);
    return {
      prefix,
      deposits: options.deposits,
      inboxes: options.inboxes,
      fillInFlight: FILL_BATCH,
      closeMs,
      admit,
      fill: fillStep!,
      steps,
      contents: await prefixContents(admin, prefix),
      expected: options.deposits * (options.runs + 1),
    };
  } finally {
    await ports.close();
  }
}

export interface LargeRoundCloseOptions {
  redis: BenchRedis;
  admin: Redis;
  /** Entries in the one round. */
  deposits: number;
  /** Bytes of each entry's item. */
  itemBytes: number;
}

export interface LargeRoundClose {
  deposits: number;
  itemBytes: number;
  inboxes: number;
  fillMs: number;
  /** One closer.close() delivering the whole round. */
  closeMs: number;
  /** Redis used_memory with the round pending, and after the close (items then in inboxes). */
  redisBytesPending: number;
  redisBytesDelivered: number;
  /** This process's resident set: before the close and the most seen while it ran. */
  rssBeforeBytes: number;
  rssPeakBytes: number;
  contents: PrefixContents;
}

/** Entries per inbox in the large round (well within the default quota of 10,000 items). */
const LARGE_PER_INBOX = 1000;
/** pool.add calls in flight while filling a large round. */
const LARGE_FILL_BATCH = 5000;

/**
 * Fills one round of `deposits` entries and times one RoundCloser.close() of it, sampling this
 * process's memory meanwhile: a close holds a page at a time, not the round.
 *
 * @example const figures = await measureLargeRoundClose({ redis, admin, deposits: 250_000, itemBytes: 1024 }, cleanup);
 */
export async function measureLargeRoundClose(
  options: LargeRoundCloseOptions,
  cleanup: Cleanup,
): Promise<LargeRoundClose> {
  const { ports, prefix } = benchPorts(options, cleanup, "large");
  try {
    const retention = DEFAULT_RELAY_CONFIG.retentionDays;
    const expiresDay = dayOf(ports.clock.now()) + retention;
    const inboxCount = Math.ceil(options.deposits / LARGE_PER_INBOX);
    const inboxIds = Array.from({ length: inboxCount }, () => randomBytes(ID_BYTES));
    await Promise.all(
      inboxIds.map((id) => ports.inboxes.admit(id, randomBytes(MESSAGE_ID_BYTES), expiresDay)),
    );
    const quota = { stored: { items: 0, bytes: 0 }, ...DEFAULT_RELAY_CONFIG.quota };
    const filling = performance.now();
    for (let start = 0; start < options.deposits; start += LARGE_FILL_BATCH) {
      const adds: Promise<string>[] = [];
      for (let i = start; i < Math.min(options.deposits, start + LARGE_FILL_BATCH); i++) {
        const entry: RoundEntry = {
          inboxId: inboxIds[i % inboxCount]!,
          messageId: randomBytes(MESSAGE_ID_BYTES),
          item: randomBytes(options.itemBytes),
        };
        adds.push(ports.pool.add(entry, quota));
      }
      const refused = (await Promise.all(adds)).filter((r) => r !== "added");
      if (refused.length > 0) throw new Error(`pool.add answered ${refused[0]}`);
    }
    const fillMs = performance.now() - filling;
    const redisBytesPending = await usedMemory(options.admin);
    const closer = new RoundCloser(
      ports.pool,
      ports.inboxes,
      ports.clock,
      ports.metrics,
      retention,
    );
    const rssBeforeBytes = memoryUsage.rss();
    let rssPeakBytes = rssBeforeBytes;
    const sampler = setInterval(() => {
      rssPeakBytes = Math.max(rssPeakBytes, memoryUsage.rss());
    }, 20);
    const closing = performance.now();
    try {
      await closer.close();
    } finally {
      clearInterval(sampler);
    }
    const closeMs = performance.now() - closing;
    return {
      deposits: options.deposits,
      itemBytes: options.itemBytes,
      inboxes: inboxCount,
      fillMs,
      closeMs,
      redisBytesPending,
      redisBytesDelivered: await usedMemory(options.admin),
      rssBeforeBytes,
      rssPeakBytes,
      contents: await prefixContents(options.admin, prefix),
    };
  } finally {
    await ports.close();
    await deletePrefix(options.admin, prefix);
  }
}
