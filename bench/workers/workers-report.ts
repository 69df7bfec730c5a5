/** Prints the Workers part's figures (workers-bench.ts) as text. */
import type { HttpLoadResult } from "../http/http-load-report.js";
import { formatNumber, textTable } from "../common/text-table.js";

/** CPU seconds one part used in the measured window (undefined where /proc is not available). */
export interface PartCpu {
  label: string;
  seconds: number | undefined;
}

export interface TargetRun {
  name: string;
  command: string;
  loadCommand: string;
  load: HttpLoadResult;
  /** Length of the CPU sampling window (window start to the load client's result). */
  seconds: number;
  relay: PartCpu;
  /** Dev-only helpers of the relay, reported beside it. */
  extra: PartCpu[];
  loadClient: number | undefined;
  machine: { busy: number; total: number } | undefined;
  /** Deposits the relay itself counted as accepted, when it can tell. */
  accepted: number | undefined;
}

function percentOfCore(cpuSeconds: number | undefined, windowSeconds: number): string {
  return cpuSeconds === undefined ? "n/a" : `${formatNumber((100 * cpuSeconds) / windowSeconds)} %`;
}

function msPerDeposit(cpuSeconds: number | undefined, deposits: number): string {
  return cpuSeconds === undefined ? "n/a" : formatNumber((1000 * cpuSeconds) / deposits, 3);
}

function row(run: TargetRun): string[] {
  const r = run.load.run;
  return [
    run.name,
    String(r.concurrency),
    formatNumber(r.ops),
    formatNumber(r.errors),
    formatNumber(r.elapsedMs / 1000, 2),
    formatNumber(r.perSecond),
    formatNumber(r.p50Ms, 2),
    formatNumber(r.p99Ms, 2),
    percentOfCore(run.relay.seconds, run.seconds),
    msPerDeposit(run.relay.seconds, Math.max(1, r.ops)),
  ];
}

function cpuLine(run: TargetRun): string {
  const deposits = Math.max(1, run.load.run.ops);
  const parts = [run.relay, ...run.extra, { label: "load client", seconds: run.loadClient }].map(
    (part) =>
      `${part.label} ${percentOfCore(part.seconds, run.seconds)} ` +
      `(${msPerDeposit(part.seconds, deposits)} ms/deposit)`,
  );
  const machine = run.machine
    ? `; machine: ${formatNumber(run.machine.total / run.seconds)} cores ` +
      `${formatNumber((100 * run.machine.busy) / run.machine.total)} % busy`
    : "";
  return `  ${run.name}: ${parts.join(", ")}${machine}.`;
}

function checkLine(run: TargetRun): string {
  const statuses = Object.entries(run.load.statuses)
    .map(([status, count]) => `${formatNumber(count)} x HTTP ${status}`)
    .join(", ");
  const accepted =
    run.accepted === undefined
      ? ""
      : `; its metrics count ${formatNumber(run.accepted)} deposits accepted`;
  return (
    `  ${run.name}: ${statuses} (${formatNumber(run.load.answered)} full-size answers, all ` +
    `phases)${accepted}.`
  );
}

/**
 * @example printWorkersComparison([nodeRun, workerRun], 1000);
 */
export function printWorkersComparison(runs: readonly TargetRun[], roundMs: number): void {
  const first = runs[0];
  if (!first) return;
  console.log(
    "Workers: the relay in workerd beside the Node relay, same load, one after the other",
  );
  for (const run of runs) console.log(`  ${run.name.split(":")[0]!.padEnd(9)}${run.command}`);
  console.log(`  rounds   ${roundMs} ms on both (SHROUD_ROUND_MS / --round-ms)`);
  console.log(`  load     ${first.loadCommand} (a child process; the same for both)`);
  console.log(
    `           ${first.load.messageBytes} B messages, ${formatNumber(first.load.bodyBytes)} B ` +
      "bodies PRE-SEALED by RelayClient before any timing, POSTed over keep-alive node:http " +
      "connections,",
  );
  console.log(
    "           one request in flight on each, after the load client's own warm-up and " +
      "calibration. Latency: POST -> HTTP 200 with the sealed answer read.",
  );
  console.log(
    "  CPU      utime+stime from /proc of the relay's processes over the window; for the Worker " +
      "the workerd that runs it (found below this process), not wrangler's dev proxy.",
  );
  console.log("");
  console.log(
    textTable(
      [
        "relay",
        "in flight",
        "deposits",
        "errors",
        "s",
        "deposits/s",
        "p50 ms",
        "p99 ms",
        "relay CPU",
        "CPU ms/deposit",
      ],
      runs.map(row),
      ["left", ...Array<"right">(9).fill("right")],
    ),
  );
  console.log("");
  for (const run of runs) {
    const r = run.load.run;
    if (r.exhausted) {
      console.log(
        `Note: ${run.name}: the pre-sealed bodies ran out after ` +
          `${formatNumber(r.elapsedMs / 1000, 2)} s; the rate is over that window.`,
      );
    }
    if (r.firstError) console.log(`First error (${run.name}): ${r.firstError}`);
  }
  console.log("CPU in the window (% of one core, and per measured deposit):");
  for (const run of runs) console.log(cpuLine(run));
  const [node, worker] = runs;
  if (node && worker) {
    const perDeposit = (run: TargetRun, parts: PartCpu[]) => {
      const seconds = parts.map((p) => p.seconds);
      if (seconds.some((s) => s === undefined)) return undefined;
      return (seconds as number[]).reduce((a, b) => a + b, 0) / Math.max(1, run.load.run.ops);
    };
    const nodeCpu = perDeposit(node, [node.relay]);
    const workerCpu = perDeposit(worker, [worker.relay]);
    const workerAll = perDeposit(worker, [worker.relay, ...worker.extra]);
    const ratio = (a: number | undefined, b: number | undefined) =>
      a === undefined || b === undefined ? "n/a" : `${formatNumber(a / b, 2)}x`;
    console.log(
      `Worker / Node: ${ratio(worker.load.run.perSecond, node.load.run.perSecond)} the ` +
        `deposits/s, ${ratio(workerCpu, nodeCpu)} the relay CPU per deposit ` +
        `(${ratio(workerAll, nodeCpu)} counting wrangler's dev proxy and its Node side too).`,
    );
  }
  console.log("Checks:");
  for (const run of runs) console.log(checkLine(run));
  console.log("");
}
