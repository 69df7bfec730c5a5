/** Prints the federation part's figures as text. */
import { DEFAULT_FEDERATION } from "../../src/relay/relay-config.js";
import type { FederationLatency, LatencySample } from "./federation-latency.js";
import type { FederationPair } from "./federation-pair.js";
import type { FederationThroughput, StatePoint } from "./federation-throughput.js";
import { ascending, percentile } from "../common/percentile.js";
import type { BenchRedis } from "../redis/redis-server-process.js";
import { formatNumber, textTable } from "../common/text-table.js";

function ms(value: number | undefined, decimals = 1): string {
  return value === undefined ? "-" : formatNumber(value, decimals);
}

function share(cpuSeconds: number | undefined, seconds: number): string {
  return cpuSeconds === undefined ? "n/a" : `${formatNumber((100 * cpuSeconds) / seconds)} %`;
}

function redisLine(redis: BenchRedis): string {
  return redis.source === "REDIS_URL" ? "REDIS_URL (shared)" : (redis.command ?? "redis-server");
}

export function printFederationHeader(pair: FederationPair, version: string): void {
  console.log("Federation: relay A forwards deposits to relay B, each on a Redis of its own");
  console.log(`  redis    Redis ${version}; A: ${redisLine(pair.a.redis)}`);
  console.log(`                     B: ${redisLine(pair.b.redis)}`);
  for (const relay of [pair.a, pair.b]) {
    console.log(`  relay ${relay.name}  ${relay.command}`);
  }
  console.log(
    "           (child processes, SHROUD_MASTER_KEY from `node bin/shroud.js keys " +
      "new-master-key`; --peer makes each the other's allowlisted federation peer;",
  );
  console.log(
    `           ${pair.setup}; each relay's BullMQ scheduler closes its rounds, and every ` +
      "round close flushes its batches)",
  );
  console.log("");
}

/** The reading closest to each whole second, and the last one. */
function perSecond(points: readonly StatePoint[]): StatePoint[] {
  const picked: StatePoint[] = [];
  for (const point of points) {
    const second = Math.round(point.at / 1000);
    const previous = picked[picked.length - 1];
    if (Math.abs(point.at - second * 1000) > 30) continue;
    if (previous && Math.round(previous.at / 1000) === second) continue;
    picked.push(point);
  }
  const last = points[points.length - 1];
  if (last && picked[picked.length - 1] !== last) picked.push(last);
  return picked;
}

/** The reading at or just after `at` ms. */
function pointAt(points: readonly StatePoint[], at: number): StatePoint | undefined {
  return points.find((p) => p.at >= at) ?? points[points.length - 1];
}

export function printFederationThroughput(figures: FederationThroughput): void {
  const { run, calibration, timeline } = figures;
  const windowS = run.elapsedMs / 1000;
  console.log("1. Throughput: forwarded deposits carried A -> B end to end");
  console.log(
    `  load     ${formatNumber(figures.sealed)} forwards of ${figures.messageBytes} B messages ` +
      `to ${figures.inboxes} inboxes on B (a 1 KiB deposit sealed to B inside a ` +
      `${formatNumber(figures.bodyBytes)} B forward sealed to A), all PRE-SEALED with ` +
      "RelayClient.connectVia and captured",
  );
  console.log(
    `           (${formatNumber(figures.sealed / figures.sealSeconds)}/s), then POSTed as-is ` +
      `to A over ${figures.inFlight} keep-alive node:http connections, ${figures.inFlight} in ` +
      `flight; first ${formatNumber(calibration.ops)} to warm up (${formatNumber(calibration.perSecond)}` +
      `/s, all visible at B ${formatNumber(figures.calibrationDrainMs)} ms after the last was ` +
      `sent; that rate sizes the pool), then a ${formatNumber(windowS, 1)} s window`,
  );
  console.log("");
  const end = pointAt(timeline, run.elapsedMs);
  const steadyFrom = pointAt(timeline, 1000);
  const steady =
    end && steadyFrom && end.at > steadyFrom.at
      ? (end.visible - steadyFrom.visible) / ((end.at - steadyFrom.at) / 1000)
      : NaN;
  const allVisible = figures.allVisibleAt;
  const rows: string[][] = [
    [
      "forwards A accepted in the window (HTTP 200)",
      `${formatNumber(run.ops)} = ${formatNumber(run.perSecond)}/s ` +
        `(answer p50 ${ms(run.p50Ms, 2)} ms, p99 ${ms(run.p99Ms, 2)} ms)`,
    ],
    [
      "visible at B during the window",
      end ? `${formatNumber(end.visible)} = ${formatNumber(end.visible / windowS)}/s` : "-",
    ],
    [
      "visible at B, steady rate (1 s .. end of sending)",
      Number.isFinite(steady) ? `${formatNumber(steady)}/s` : "-",
    ],
    [
      "END TO END: window's forwards / (first POST .. last visible at B)",
      allVisible === undefined
        ? "- (not all visible)"
        : `${formatNumber(run.ops / (allVisible / 1000))}/s ` +
          `(last visible ${formatNumber(allVisible / 1000, 2)} s after the first POST)`,
    ],
    [
      "backlog when sending stopped (accepted, not yet visible)",
      end
        ? `${formatNumber(end.accepted - end.visible)}: ${formatNumber(end.heldAtA)} held at A, ` +
          `${formatNumber(end.pendingAtB)} in B's open round, rest in batches between them`
        : "-",
    ],
    [
      "check: visible at B = accepted by A",
      `${formatNumber(figures.delivered)} of ${formatNumber(run.ops)} ` +
        (figures.delivered === run.ops ? "(ok)" : "(MISMATCH)"),
    ],
  ];
  console.log(textTable(["what", "value"], rows, ["left", "left"]));
  console.log("");
  const { link, cpu } = figures;
  const slots = DEFAULT_FEDERATION.slotsPerBatch;
  console.log(
    `Link A -> B over the window and the drain: ${formatNumber(link.sent)} batches built, ` +
      `${formatNumber(link.delivered)} acknowledged by B, ${formatNumber(link.received)} ` +
      `accepted at B, ${formatNumber(link.failures)} failed attempts; ` +
      `${formatNumber((100 * run.ops) / Math.max(1, link.sent * slots), 0)} % of their ` +
      `${slots}-slot capacity carried real envelopes.`,
  );
  const scheduled = figures.linkMs / figures.roundMs;
  console.log(
    `Round closes in those ${formatNumber(figures.linkMs / 1000, 1)} s: A ran ` +
      `${formatNumber(link.roundsA)}, B ${formatNumber(link.roundsB)}, of ` +
      `${formatNumber(scheduled)} scheduled at T = ${figures.roundMs} ms (a close that outlasts T ` +
      "delays the next one).",
  );
  console.log(
    `CPU in the window (${formatNumber(cpu.seconds, 1)} s, share of one core): relay A ` +
      `${share(cpu.relayA, cpu.seconds)}, relay B ${share(cpu.relayB, cpu.seconds)}, ` +
      `redis-server A ${share(cpu.redisA, cpu.seconds)}, redis-server B ` +
      `${share(cpu.redisB, cpu.seconds)}, the bench (POSTs, state readings) ` +
      `${share(cpu.load, cpu.seconds)}.`,
  );
  const statuses = Object.entries(figures.statuses)
    .map(([status, count]) => `${status}: ${formatNumber(count)}`)
    .join(", ");
  console.log(`A's HTTP answers (warm-up and window): ${statuses}.`);
  for (const result of [calibration, run]) {
    if (result.firstError) console.log(`First POST error: ${result.firstError}`);
  }
  if (run.exhausted) {
    console.log(
      `Note: the pre-sealed forwards ran out after ${formatNumber(windowS, 2)} s; the window ` +
        "is that long.",
    );
  }
  console.log("");
  let previous: StatePoint | undefined;
  const timelineRows = perSecond(timeline).map((p) => {
    const rate =
      previous && p.at > previous.at
        ? formatNumber((p.visible - previous.visible) / ((p.at - previous.at) / 1000))
        : "";
    previous = p;
    return [
      formatNumber(p.at / 1000, 2),
      formatNumber(p.accepted),
      formatNumber(p.heldAtA),
      formatNumber(p.pendingAtB),
      formatNumber(p.visible),
      rate,
    ];
  });
  console.log(
    textTable(
      ["s", "accepted by A", "held at A", "B open round", "visible at B", "visible/s"],
      timelineRows,
      ["right", "right", "right", "right", "right", "right"],
    ),
  );
  console.log("");
}

function statsRow(label: string, values: readonly number[]): string[] {
  const sorted = ascending(values);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return [
    label,
    ms(percentile(sorted, 0.5)),
    ms(percentile(sorted, 0.99)),
    ms(mean),
    ms(sorted[0]),
    ms(sorted[sorted.length - 1]),
  ];
}

export function printFederationLatency(figures: FederationLatency): void {
  const { samples, roundMs } = figures;
  const pick = (f: (s: LatencySample) => number) => samples.map(f);
  console.log("2. Latency of one forwarded deposit A -> B, and what a hop adds beyond the rounds");
  console.log(
    `  load     one RelayClient.connectVia deposit at a time, after a random pause of 0..${roundMs}` +
      ` ms; ${samples.length} measured after ${figures.warmup} warm-up` +
      (figures.timedOut > 0 ? `, ${figures.timedOut} NOT visible at B in time` : ""),
  );
  console.log(
    `  timing   both Redis servers polled every ${ms(figures.pollIntervalMs, 2)} ms on average ` +
      "(the resolution); T = round interval = " +
      `${roundMs} ms on A and on B; p99 of fewer than 100 samples is the largest`,
  );
  console.log("");
  const rows = [
    statsRow(
      "raw: A answered -> visible in B's inbox",
      pick((s) => s.total),
    ),
    statsRow(
      `raw - 2T (${2 * roundMs} ms)`,
      pick((s) => s.total - 2 * roundMs),
    ),
    statsRow(
      "  wait at A: A answered -> A's round claims it",
      pick((s) => s.waitA),
    ),
    statsRow(
      "  HOP A -> B: claimed at A -> taken at B",
      pick((s) => s.hop),
    ),
    statsRow(
      "  wait at B: taken at B -> B's round made it visible",
      pick((s) => s.waitB),
    ),
    statsRow(
      "client: deposit call (3 seals + A's answer)",
      pick((s) => s.depositCall),
    ),
  ];
  console.log(
    textTable(["ms", "p50", "p99", "mean", "min", "max"], rows, [
      "left",
      "right",
      "right",
      "right",
      "right",
      "right",
    ]),
  );
  console.log("");
  const waitB = ascending(pick((s) => s.waitB));
  const waitA = ascending(pick((s) => s.waitA));
  console.log(
    "Model: a forward waits at A for A's next round close (0..T), crosses in A's batch (the " +
      "hop), then waits at B for B's next round close (0..T): raw = wait at A + hop + wait at B.",
  );
  console.log(
    "  raw - 2T takes off the longest the two round waits can be, so raw - 2T <= hop <= raw: a " +
      "lower bound of what the hop adds (negative: the trip fit inside the two round waits).",
  );
  console.log(
    "  With both waits measured per deposit, raw - wait at A - wait at B is the hop itself (the " +
      "HOP row): A's flush, signing, BullMQ, POST /v1/federation, B's checks, open and deposit.",
  );
  const hop = percentile(ascending(pick((s) => s.hop)), 0.5);
  const [before, after] = figures.phaseMs;
  const expectedB = before === undefined ? NaN : (((before - hop) % roundMs) + roundMs) % roundMs;
  const nearZero = samples.filter((s) => s.waitA < 5).length;
  console.log(
    `  Waits seen: at A p50 ${ms(percentile(waitA, 0.5))} ms (a random moment waits T/2 = ` +
      `${roundMs / 2} ms on average; ${nearZero} of ${samples.length} read under 5 ms: A holds ` +
      "a forward before it answers, so an answer held up (behind A's round close or a batch",
  );
  console.log(
    `  from B) can come after the claim). At B p50 ${ms(percentile(waitB, 0.5))} ms, and B's ` +
      "wait is not random: A flushes at its round close, so a batch reaches B a hop later at the same",
  );
  console.log(
    `  point of B's round every time. B's BullMQ schedule fires ${ms(before, 0)} ms after A's ` +
      `(${ms(after, 0)} ms after the samples; each relay's phase is set when it starts), so ` +
      `B's wait should be about (${ms(before, 0)} - hop p50) mod T = ${ms(expectedB, 0)} ms.`,
  );
  console.log("");
}

/** Most characters of a relay's log shown. */
const LOG_SHOWN = 600;

/** What the relays logged (round close or delivery failures, nothing on a clean run). */
export function printRelayLogs(pair: FederationPair): void {
  for (const relay of [pair.a, pair.b]) {
    const log = relay.stderr();
    if (log) console.log(`Relay ${relay.name} logged: ${log.slice(-LOG_SHOWN)}`);
  }
}

/** How one relay ended when the bench sent it SIGTERM. */
export interface RelayShutdown {
  name: string;
  /** Exit code; null when it was still running after the grace period and got SIGKILL. */
  code: number | null;
  ms: number;
}

export function printShutdowns(shutdowns: readonly RelayShutdown[], graceMs: number): void {
  const parts = shutdowns.map(({ name, code, ms: took }) =>
    code === 0
      ? `relay ${name} exited ${formatNumber(took)} ms after SIGTERM`
      : `relay ${name} was still running ${formatNumber(graceMs)} ms after SIGTERM and was ` +
        `killed (exit ${code ?? "by signal"})`,
  );
  console.log(
    `Shutdown (B first, while A still sends it a batch every round): ${parts.join("; ")}.`,
  );
}
