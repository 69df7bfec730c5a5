/** Prints the Redis part's figures as text. */
import { callsPerDeposit, type DepositCalls } from "./redis-deposit-calls.js";
import type { HttpThroughput } from "./redis-http-throughput.js";
import { totalCalls, type CommandStats } from "./redis-info.js";
import type { RedisMemory } from "./redis-memory.js";
import type { RoundClose, TimedStep } from "./redis-round-close.js";
import type { BenchRedis } from "./redis-server-process.js";
import { formatNumber, textTable } from "../common/text-table.js";
import { median } from "../common/percentile.js";

/** Commands listed per deposit and per step. */
const COMMANDS_SHOWN = 9;

function percentOfCore(cpuSeconds: number | undefined, windowSeconds: number): string {
  return cpuSeconds === undefined ? "n/a" : `${formatNumber((100 * cpuSeconds) / windowSeconds)} %`;
}

/** "name calls (us per call), ..." with calls divided by `per` (1: whole numbers). */
export function commandList(commands: CommandStats, per: number, shown = COMMANDS_SHOWN): string {
  const parts = [...commands]
    .slice(0, shown)
    .map(
      ([name, { calls, usec }]) =>
        `${name} ${formatNumber(calls / per, per === 1 ? 0 : 2)}` +
        ` (${formatNumber(usec / calls, 1)} us)`,
    );
  if (commands.size > shown) parts.push(`+${commands.size - shown} more`);
  return parts.join(", ");
}

export function printRedisHeader(redis: BenchRedis, version: string): void {
  console.log("Redis backend");
  console.log(
    `  redis    Redis ${version}, ` +
      (redis.source === "REDIS_URL"
        ? "REDIS_URL (shared: other clients' load and memory would show in these figures)"
        : `started by the bench: ${redis.command}`),
  );
}

function printLoadSetup(figures: HttpThroughput): void {
  const { load } = figures;
  console.log(`  relay    ${figures.relayCommand}`);
  console.log(
    "           (child process; SHROUD_MASTER_KEY from `node bin/shroud.js keys new-master-key`;" +
      " its BullMQ scheduler closes the rounds)",
  );
  console.log(`  load     ${figures.loadCommand}`);
  console.log(
    `           (a second child process, loopback) ${formatNumber(load.sealed)} deposits of ` +
      `${load.messageBytes} B messages to ${load.inboxes} inboxes, ${formatNumber(load.bodyBytes)} B ` +
      "bodies, were all PRE-SEALED by RelayClient before any timing",
  );
  console.log(
    `           (${formatNumber(load.sealed / load.sealSeconds)}/s; captured, not sent) and ` +
      `then POSTed as-is over ${load.connections} keep-alive node:http connections, one ` +
      "request in flight on each,",
  );
  console.log(
    "           so the rate is the relay's (HTTP, HPKE open + seal, Redis), not the client's " +
      "sealing. Latency: POST -> HTTP 200 with the sealed answer read.",
  );
  console.log(
    `           Sequence: ${formatNumber(load.relayWarmup.ops)} deposits warm up the fresh relay; ` +
      `${formatNumber(load.calibration.ops)} measure it (${formatNumber(load.calibration.perSecond)}` +
      `/s) to size the pool; ${formatNumber(load.run.warmupOps)} warm-up; the window.`,
  );
  console.log("");
}

export function printHttpThroughput(figures: HttpThroughput): void {
  const { load, cpu } = figures;
  const run = load.run;
  printLoadSetup(figures);
  console.log(
    textTable(
      ["path", "in flight", "ops", "errors", "s", "ops/s", "p50 ms", "p99 ms"],
      [
        [
          `deposit: HTTP POST -> serve --redis --workers ${figures.workers}`,
          String(run.concurrency),
          formatNumber(run.ops),
          formatNumber(run.errors),
          formatNumber(run.elapsedMs / 1000, 2),
          formatNumber(run.perSecond),
          formatNumber(run.p50Ms, 2),
          formatNumber(run.p99Ms, 2),
        ],
      ],
      ["left", "right", "right", "right", "right", "right", "right", "right"],
    ),
  );
  console.log("");
  if (run.exhausted) {
    console.log(
      `Note: the pre-sealed bodies ran out after ${formatNumber(run.elapsedMs / 1000, 2)} s; ` +
        "the rate is over that window.",
    );
  }
  if (run.firstError) console.log(`First error: ${run.firstError}`);
  const ours = (cpu.relay ?? 0) + (cpu.redis ?? cpu.redisMain) + (cpu.loadClient ?? 0);
  const machine = cpu.machine
    ? `; the machine's ${formatNumber(cpu.machine.total / cpu.seconds)} cores were ` +
      `${formatNumber((100 * cpu.machine.busy) / cpu.machine.total)} % busy, other processes ` +
      `${percentOfCore(Math.max(0, cpu.machine.busy - ours), cpu.seconds)}`
    : "";
  console.log(
    `CPU in the window (${formatNumber(cpu.seconds, 2)} s, % of one core): relay ` +
      `${percentOfCore(cpu.relay, cpu.seconds)}, redis-server ` +
      `${percentOfCore(cpu.redis, cpu.seconds)} (main thread ` +
      `${percentOfCore(cpu.redisMain, cpu.seconds)}), load client ` +
      `${percentOfCore(cpu.loadClient, cpu.seconds)}${machine}.`,
  );
  const perDeposit = Math.max(1, run.ops);
  if (cpu.relay !== undefined) {
    console.log(
      `Per deposit: relay ${formatNumber((1e6 * cpu.relay) / perDeposit)} us CPU, Redis main ` +
        `thread ${formatNumber((1e6 * cpu.redisMain) / perDeposit)} us CPU.`,
    );
  }
  console.log(
    "Redis calls per deposit in the window, round closes included (INFO commandstats, us per " +
      "call; an evalsha's time includes the commands its script ran, also listed):",
  );
  console.log(
    `  ${commandList(figures.commands, perDeposit)}; ` +
      `${formatNumber(totalCalls(figures.commands) / perDeposit, 2)} in all`,
  );
  const statuses = Object.entries(load.statuses)
    .map(([status, count]) => `${formatNumber(count)} x HTTP ${status}`)
    .join(", ");
  const { contents } = figures;
  console.log(
    `Checks: the load client got ${statuses} (${formatNumber(load.answered)} full-size ` +
      `answers, all phases); after the relay's shutdown its metrics count ` +
      `${formatNumber(figures.accepted)} accepted and ${formatNumber(figures.delivered)} ` +
      `delivered, and Redis holds ${formatNumber(contents.storedItems)} items in ` +
      `${formatNumber(contents.inboxes)} inboxes + ${formatNumber(contents.pendingEntries)} ` +
      `pending (${formatNumber(contents.unreleasedRounds)} closed rounds unreleased).`,
  );
  console.log("");
}

export function printDepositCalls(calls: DepositCalls): void {
  const per = (n: number) => formatNumber(n / calls.deposits, 2);
  const sent = [...calls.sent]
    .sort((a, b) => b[1] - a[1])
    .map(([name, count]) => `${name} ${per(count)}`)
    .join(", ");
  console.log(
    `Redis calls of one deposit: ${formatNumber(calls.deposits)} sealed deposits one at a time ` +
      "to an in-process relay on redisPorts (not started: no round closes beside them)",
  );
  console.log(
    `  redis.roundtrips.per.deposit: ${per(calls.roundTrips)} (socket writes of the relay's ` +
      `connection); commands the relay sent: ${sent}`,
  );
  console.log(
    `  redis.commands.per.deposit: ${formatNumber(callsPerDeposit(calls), 2)} commands Redis ` +
      `ran, its scripts' included (INFO commandstats): ${commandList(calls.ran, calls.deposits)}`,
  );
  console.log("");
}

function stepRow(step: TimedStep): string[] {
  return [
    step.name,
    formatNumber(step.ms, 1),
    formatNumber(step.redisCpuMs, 1),
    commandList(step.commands, 1, 4),
  ];
}

export function printRoundClose(figures: RoundClose): void {
  const closeMedian = median(figures.closeMs);
  console.log(
    `Round close on Redis: in-process RoundCloser on redisPorts (RedisRoundPool, ` +
      `RedisInboxStore), ${formatNumber(figures.deposits)} pending 1 KiB deposits over ` +
      `${formatNumber(figures.inboxes)} admitted inboxes`,
  );
  console.log(
    `  closer.close() (unreleased + pool.close + shuffle + pipelined appendRound + release): ` +
      `${figures.closeMs.map((ms) => `${formatNumber(ms, 1)} ms`).join(", ")}`,
  );
  console.log(
    `  -> median ${formatNumber(closeMedian, 1)} ms for ${formatNumber(figures.deposits)} ` +
      `deposits (${formatNumber(figures.deposits / (closeMedian / 1000))} deposits/s)`,
  );
  console.log(
    `  filling it: ${formatNumber(figures.deposits)} pool.add in ` +
      `${formatNumber(figures.fill.ms)} ms (${formatNumber(figures.deposits / (figures.fill.ms / 1000))}` +
      `/s, autopipelined, ${formatNumber(figures.fillInFlight)} in flight)`,
  );
  console.log(
    "  setup, then one more round closed step by step (Redis ms: CPU of Redis's main thread; " +
      "commands: INFO commandstats, us per call, evalsha including its script's commands):",
  );
  console.log(
    textTable(
      ["  step", "ms", "Redis ms", "Redis commands"],
      [figures.admit, figures.fill, ...figures.steps]
        .map(stepRow)
        .map(([name, ...rest]) => [`  ${name}`, ...rest]),
      ["left", "right", "right", "left"],
    ),
  );
  const { contents } = figures;
  console.log(
    `  Checks: the inboxes hold ${formatNumber(contents.storedItems)} items of ` +
      `${formatNumber(figures.expected)} deposited; ${formatNumber(contents.pendingEntries)} ` +
      `pool entries and ${formatNumber(contents.unreleasedRounds)} closed rounds left.`,
  );
  console.log("");
}

export function printMemory(figures: RedisMemory): void {
  const row = (phase: RedisMemory["inboxes"], detail: string) => [
    phase.name,
    formatNumber(phase.count),
    formatNumber(phase.bytes),
    formatNumber(phase.bytes / phase.count),
    detail,
  ];
  const delivered = figures.delivered.count;
  console.log(
    `Redis memory (INFO memory used_memory after minus before each phase; items of exactly ` +
      `${formatNumber(figures.itemBytes)} B, ${formatNumber(delivered / figures.inboxes.count)} ` +
      `per inbox)`,
  );
  console.log(
    textTable(
      ["  what", "count", "used_memory +B", "B each", "of which (MEMORY USAGE per item)"],
      [
        row(figures.inboxes, "meta hash + expiry zset entry"),
        row(
          figures.delivered,
          `items zset ${formatNumber(figures.itemsZset)}, message-id zset ` +
            `${formatNumber(figures.messageIdZset)}`,
        ),
        row(
          figures.pending,
          `entry string ${formatNumber(figures.entryString)}, open round zset ` +
            `${formatNumber(figures.openRoundZset)}`,
        ),
        row(figures.replay, "kept until the HPKE key is deleted (rotation + overlap)"),
      ].map(([name, ...rest]) => [`  ${name}`, ...rest]),
      ["left", "right", "right", "right", "left"],
    ),
  );
  const perPending = figures.pending.bytes / figures.pending.count;
  const perReplay = figures.replay.bytes / figures.replay.count;
  console.log(
    `  So an accepted deposit holds ~${formatNumber(perPending + perReplay)} B while pending ` +
      `(entry + replay record) and ~${formatNumber(figures.delivered.bytes / delivered + perReplay)}` +
      " B once delivered, until acked or expired.",
  );
  if (figures.afterDelete !== undefined) {
    console.log(
      `  Check: after deleting the keys used_memory is ${formatNumber(figures.afterDelete)} B ` +
        "from where it started (UNLINK frees large values in the background).",
    );
  }
  console.log("");
}
