/**
 * Round close time on Redis, in-process: 10,000 pending deposits over 1,000 authorized inboxes,
 * then one RoundCloser.close() (pool.close + read, shuffle, pipelined appendRound, release)
 * timed. A last round is closed step by step, each step timed and its Redis-side execution time
 * taken from INFO commandstats, to show where a close spends its time.
 */
import type { Redis } from "ioredis";
import { redisPorts, type RedisPorts } from "../adapters/redis/redis-ports.js";
import { randomBytes } from "../protocol/bytes.js";
import { SecretBytes } from "../protocol/secret-bytes.js";
import { dayOf } from "../relay/ports/clock.js";
import type { RoundEntry } from "../relay/ports/inbox-store.js";
import { DEFAULT_RELAY_CONFIG } from "../relay/relay-config.js";
import { RoundCloser } from "../relay/round-closer.js";
import { secureShuffle } from "../relay/shuffle.js";
import { deletePrefix } from "../adapters/redis/redis-prefix.js";
import { benchPrefix } from "./bench-prefix.js";
import type { Cleanup } from "./cleanup.js";
import {
  commandStats,
  commandStatsDelta,
  redisCpuSeconds,
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
  admin: Redis;
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
  deposits: number;
  inboxes: number;
  /** pool.add calls in flight while filling. */
  fillInFlight: number;
  /** ms of each timed closer.close(). */
  closeMs: number[];
  /** Authorizing the inboxes, one filling of the pool, and the step-by-step close. */
  authorize: TimedStep;
  fill: TimedStep;
  steps: TimedStep[];
  /** What the prefix holds afterwards (all items delivered, nothing pending), and what should. */
  contents: PrefixContents;
  expected: number;
}

async function timed<T>(
  admin: Redis,
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

/** The steps of RoundCloser's #closeOnce and #deliver, timed one by one. */
async function closeStepByStep(
  ports: RedisPorts,
  admin: Redis,
  expiresDay: number,
): Promise<TimedStep[]> {
  const [unreleasedStep, unreleased] = await timed(admin, "pool.unreleased()", () =>
    ports.pool.unreleased(),
  );
  if (unreleased.length > 0) throw new Error("a closed round was left unreleased");
  const [closeStep, round] = await timed(
    admin,
    "pool.close(): pool-close.lua + ZRANGE + MGET",
    () => ports.pool.close(),
  );
  if (!round) throw new Error("the filled round closed empty");
  const [shuffleStep, entries] = await timed(admin, "secureShuffle (relay/shuffle.ts)", async () =>
    secureShuffle([...round.entries]),
  );
  const [appendStep] = await timed(admin, "inboxes.appendRound(): pipelined", () =>
    ports.inboxes.appendRound(entries, expiresDay),
  );
  const [releaseStep] = await timed(admin, "pool.release(): pool-release.lua", () =>
    ports.pool.release(round.id),
  );
  return [unreleasedStep, closeStep, shuffleStep, appendStep, releaseStep];
}

/**
 * @example const figures = await measureRoundClose({ redis, admin, deposits: 10_000, ... }, cleanup);
 */
export async function measureRoundClose(
  options: RoundCloseOptions,
  cleanup: Cleanup,
): Promise<RoundClose> {
  const prefix = benchPrefix("close");
  if (options.redis.source === "REDIS_URL") {
    cleanup.add({
      name: `keys ${prefix}`,
      stop: async () => void (await deletePrefix(options.admin, prefix)),
      now: () => undefined,
    });
  }
  const ports = redisPorts({ url: options.redis.url, prefix, masterKey: SecretBytes.random(32) });
  try {
    const { admin } = options;
    const retention = DEFAULT_RELAY_CONFIG.retentionDays;
    const expiresDay = dayOf(ports.clock.now()) + retention;
    const inboxIds = Array.from({ length: options.inboxes }, () => randomBytes(ID_BYTES));
    const [authorize] = await timed(admin, `authorize ${options.inboxes} inboxes`, () =>
      Promise.all(inboxIds.map((id) => ports.inboxes.authorize(id, randomBytes(32), expiresDay))),
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
      deposits: options.deposits,
      inboxes: options.inboxes,
      fillInFlight: FILL_BATCH,
      closeMs,
      authorize,
      fill: fillStep!,
      steps,
      contents: await prefixContents(admin, prefix),
      expected: options.deposits * (options.runs + 1),
    };
  } finally {
    await ports.close();
  }
}
