/** Prints the Redis Cluster part's figures (redis-cluster.ts) as Markdown tables. */
import { environment } from "../common/environment.js";
import { median } from "../common/percentile.js";
import { formatNumber, markdownTable } from "../common/text-table.js";
import type { HttpThroughput } from "./redis-http-throughput.js";
import { totalCalls, type ServerStats } from "./redis-info.js";
import { commandList } from "./redis-report.js";
import type { RoundClose } from "./redis-round-close.js";
import type { BenchRedis } from "./redis-server-process.js";

/** What one server holds of a key prefix: its share of the slots the prefix uses. */
export interface ServerHoldings {
  /** Round shards (of DEFAULT_ROUND_SHARDS) in its slots. */
  roundShards: number;
  inboxes: number;
  /** The prefix's one-slot keys it serves: metrics, round queue, key ring, replay sets, ... */
  singles: string[];
}

/** One server's work during a measurement, and what it holds. */
export interface ServerShare extends ServerStats, ServerHoldings {}

export interface ClusterRun {
  masters: number;
  redis: BenchRedis;
  version: string;
  http: HttpThroughput;
  /** Each server during the HTTP window. */
  depositServers: ServerShare[];
  /** Redis commands (all servers, round closes in the window included) per deposit. */
  commandsPerDeposit: number;
  /** The least busy server's commands in the window over the busiest's (1: even). */
  balance: number;
  close: RoundClose;
  /** Each server over the whole round-close measurement (admit, fills, closes). */
  closeServers: ServerShare[];
}

/** Busiest commands listed per server. */
const COMMANDS_SHOWN = 4;

function percent(part: number, whole: number): string {
  return whole > 0 ? `${formatNumber((100 * part) / whole, 1)} %` : "-";
}

function mastersLabel(masters: number): string {
  return masters === 1 ? "1 (plain redis-server)" : `${masters} (cluster)`;
}

function printHeader(runs: readonly ClusterRun[]): void {
  const { cpus } = environment();
  const last = runs[runs.length - 1]!;
  console.log(
    `Redis Cluster: ${runs.map((run) => run.masters).join(" against ")} masters, all on this ` +
      `machine's ${cpus} cores with the relay and the load client: the figures show how the ` +
      "work spreads over the shards, not a speed-up",
  );
  for (const run of runs) {
    const started =
      run.redis.source === "redis-server"
        ? `started by the bench: ${run.redis.command}`
        : `${run.redis.source} (shared: other clients' load would show in these figures)`;
    console.log(`  ${String(run.masters).padEnd(9)}Redis ${run.version}, ${started}`);
  }
  console.log(`  relay    ${last.http.relayCommand} (the URL of each backend)`);
  const load = last.http.load;
  console.log(
    `  load     ${last.http.loadCommand}: ${load.messageBytes} B messages pre-sealed by ` +
      `RelayClient (${formatNumber(load.bodyBytes)} B bodies), POSTed ${load.connections} in ` +
      "flight from a second process",
  );
  console.log(
    "  servers  commands: INFO commandstats calls in the window (a script's commands counted " +
      "beside its evalsha; INFO left out); CPU: each server's main thread (INFO cpu)",
  );
  console.log("");
}

function printDeposits(runs: readonly ClusterRun[]): void {
  console.log("Deposits over HTTP to serve --redis --workers 1");
  const rows = runs.map((run) => {
    const result = run.http.load.run;
    const ops = Math.max(1, result.ops);
    const redisCpu = run.http.servers.reduce((sum, server) => sum + server.cpuSeconds, 0);
    const relayCpu = run.http.cpu.relay;
    return [
      mastersLabel(run.masters),
      formatNumber(result.perSecond),
      formatNumber(result.p50Ms, 2),
      formatNumber(result.p99Ms, 2),
      formatNumber(result.errors),
      formatNumber(run.commandsPerDeposit, 2),
      formatNumber((1e6 * redisCpu) / ops),
      relayCpu === undefined ? "n/a" : formatNumber((1e6 * relayCpu) / ops),
      formatNumber(run.balance, 3),
    ];
  });
  console.log(
    markdownTable(
      [
        "masters",
        "deposits/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "commands / deposit",
        "Redis CPU us / deposit",
        "relay CPU us / deposit",
        "balance (min / max commands)",
      ],
      rows,
      ["left", "right", "right", "right", "right", "right", "right", "right", "right"],
    ),
  );
  console.log("");
  printWindowCpu(runs);
  for (const run of runs) {
    const { http } = run;
    const { contents } = http;
    const first = http.load.run.firstError ? ` First error: ${http.load.run.firstError}.` : "";
    console.log(
      `Checks (${run.masters}): after the relay's shutdown its metrics count ` +
        `${formatNumber(http.accepted)} accepted and ${formatNumber(http.delivered)} delivered; ` +
        `the servers hold ${formatNumber(contents.storedItems)} items in ` +
        `${formatNumber(contents.inboxes)} inboxes + ${formatNumber(contents.pendingEntries)} ` +
        `pending (${formatNumber(contents.unreleasedRounds)} closed rounds unreleased).${first}`,
    );
    if (run.depositServers.length !== run.masters) {
      console.log(`Note: ${run.depositServers.length} masters answered, not ${run.masters}.`);
    }
  }
  console.log("");
}

function percentOfCore(cpuSeconds: number | undefined, windowSeconds: number): string {
  return cpuSeconds === undefined ? "n/a" : `${formatNumber((100 * cpuSeconds) / windowSeconds)} %`;
}

/**
 * Where the machine's time went in each window: the relay, the Redis servers, and the rest (the
 * load client, whose own CPU is not sampled once it has exited, and anything else running).
 */
function printWindowCpu(runs: readonly ClusterRun[]): void {
  console.log("CPU in the deposit window, % of one core");
  console.log(
    markdownTable(
      ["masters", "relay", "Redis main threads", "load client + others", "machine busy"],
      runs.map(({ masters, http: { cpu } }) => {
        const ours = (cpu.relay ?? 0) + cpu.redisMain;
        return [
          mastersLabel(masters),
          percentOfCore(cpu.relay, cpu.seconds),
          percentOfCore(cpu.redisMain, cpu.seconds),
          cpu.machine ? percentOfCore(Math.max(0, cpu.machine.busy - ours), cpu.seconds) : "n/a",
          cpu.machine ? percent(cpu.machine.busy, cpu.machine.total) : "n/a",
        ];
      }),
      ["left", "right", "right", "right", "right"],
    ),
  );
}

/** One row per server: what it holds of the prefix and its share of the work. */
function serverRows(run: ClusterRun, servers: readonly ServerShare[], per?: number): string[][] {
  const calls = servers.map((server) => totalCalls(server.commands));
  const allCalls = calls.reduce((sum, c) => sum + c, 0);
  const allCpu = servers.reduce((sum, server) => sum + server.cpuSeconds, 0);
  return servers.map((server, i) => [
    String(run.masters),
    server.address,
    String(server.roundShards),
    formatNumber(server.inboxes),
    server.singles.join(", ") || "-",
    formatNumber(calls[i]!),
    percent(calls[i]!, allCalls),
    formatNumber(server.cpuSeconds, 2),
    percent(server.cpuSeconds, allCpu),
    ...(per === undefined ? [] : [commandList(server.commands, per, COMMANDS_SHOWN)]),
  ]);
}

const SERVER_HEADER = [
  "masters",
  "server",
  "round shards",
  "inboxes",
  "one-slot keys",
  "commands",
  "share",
  "CPU s",
  "CPU share",
];
const SERVER_ALIGN = [
  "left",
  "left",
  "right",
  "right",
  "left",
  "right",
  "right",
  "right",
  "right",
] as const;

function printDepositServers(runs: readonly ClusterRun[]): void {
  console.log(
    "Each server during the deposit window (round shards: of the pool's 16, by CLUSTER KEYSLOT; " +
      "one-slot keys: the prefix's keys kept in one slot, on the server of that slot; busiest " +
      "commands per deposit, us per call)",
  );
  console.log(
    markdownTable(
      [...SERVER_HEADER, "busiest commands per deposit"],
      runs.flatMap((run) =>
        serverRows(run, run.depositServers, Math.max(1, run.http.load.run.ops)),
      ),
      [...SERVER_ALIGN, "left"],
    ),
  );
  console.log("");
}

function printRoundClose(runs: readonly ClusterRun[]): void {
  const { close } = runs[0]!;
  console.log(
    `Round close: in-process RoundCloser on redisPorts, ${formatNumber(close.deposits)} pending ` +
      `1 KiB deposits over ${formatNumber(close.inboxes)} inboxes (in every round shard), ` +
      `closer.close() timed ${close.closeMs.length} times`,
  );
  console.log(
    markdownTable(
      ["masters", "closer.close() ms", "median ms", "deposits/s", "fill ms", "checks"],
      runs.map(({ masters, close }) => {
        const ms = median(close.closeMs);
        const left = close.contents.pendingEntries + close.contents.unreleasedRounds;
        return [
          mastersLabel(masters),
          close.closeMs.map((each) => formatNumber(each, 1)).join(", "),
          formatNumber(ms, 1),
          formatNumber(close.deposits / (ms / 1000)),
          formatNumber(close.fill.ms),
          `${formatNumber(close.contents.storedItems)} of ${formatNumber(close.expected)} ` +
            `delivered${left === 0 ? ", nothing left" : `, ${formatNumber(left)} left`}`,
        ];
      }),
      ["left", "left", "right", "right", "right", "left"],
    ),
  );
  console.log("");
  console.log(
    "Each server over the round-close measurement (admitting the inboxes, 4 fills of the pool, " +
      "3 timed closes and 1 step by step)",
  );
  console.log(
    markdownTable(
      SERVER_HEADER,
      runs.flatMap((run) => serverRows(run, run.closeServers)),
      SERVER_ALIGN,
    ),
  );
  console.log("");
}

function printFigures(runs: readonly ClusterRun[], seconds: number): void {
  const [one, cluster] = [runs[0]!, runs[runs.length - 1]!];
  const rate = (run: ClusterRun) => run.http.load.run.perSecond;
  const close = (run: ClusterRun) => median(run.close.closeMs);
  console.log(
    `cluster.deposit.${one.masters}: ${formatNumber(rate(one))} deposits/s; ` +
      `cluster.deposit.${cluster.masters}: ${formatNumber(rate(cluster))} deposits/s ` +
      `(${formatNumber(rate(cluster) / rate(one), 2)}x, one machine).`,
  );
  console.log(
    `cluster.ops.per.deposit.${cluster.masters}: ${formatNumber(cluster.commandsPerDeposit, 2)} ` +
      `Redis commands per deposit (${formatNumber(one.commandsPerDeposit, 2)} on ` +
      `${one.masters}); cluster.balance.${cluster.masters}: ` +
      `${formatNumber(cluster.balance, 3)} (the least busy master's ` +
      "commands over the busiest's).",
  );
  console.log(
    `cluster.round.close.10k.${one.masters}: ${formatNumber(close(one))} ms; ` +
      `cluster.round.close.10k.${cluster.masters}: ${formatNumber(close(cluster))} ms.`,
  );
  console.log(
    `Cluster part: ${formatNumber(seconds, 1)} s, cleaned up (relays, load clients and ` +
      "redis-servers stopped, their directories removed).",
  );
}

/**
 * @example printClusterRuns(runs, 95.2);
 */
export function printClusterRuns(runs: readonly ClusterRun[], seconds: number): void {
  printHeader(runs);
  printDeposits(runs);
  printDepositServers(runs);
  printRoundClose(runs);
  printFigures(runs, seconds);
}
