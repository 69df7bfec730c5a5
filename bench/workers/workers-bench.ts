/**
 * The Workers part of `npm run bench`: sealed deposits/s and CPU per deposit of the relay inside
 * workerd (wrangler's local runtime, Durable Objects on SQLite), beside the Node relay on the
 * embedded memory store, from the same run. Both get the same load from the same HTTP load client
 * (http-load-client.ts, a child process: pre-sealed bodies, keep-alive connections, same
 * concurrency, warm-up and window), one relay after the other so they never share the cores.
 * While the window runs, this process samples the CPU time of the relay's processes from /proc.
 */
import type { BenchOptions } from "../common/bench-options.js";
import { Cleanup } from "../common/cleanup.js";
import { startLoadClient, type LoadClientOptions } from "../http/load-client-process.js";
import { machineCpuSeconds, processCpuSeconds } from "../common/process-cpu.js";
import { formatNumber } from "../common/text-table.js";
import { printWorkersComparison, type TargetRun } from "./workers-report.js";
import { startNodeTarget, startWorkerTarget, type BenchTarget } from "./workers-relays.js";

/** Warm-up of each run, before its window (after the load client's own relay warm-up). */
const WARMUP_SECONDS = 1;

interface Snapshot {
  at: number;
  relay: number | undefined;
  extra: (number | undefined)[];
  loadClient: number | undefined;
  machine: { busy: number; total: number } | undefined;
}

function snapshot(target: BenchTarget, loadPid: number | undefined): Snapshot {
  return {
    at: performance.now(),
    relay: target.relayCpu.seconds(),
    extra: target.extraCpu.map((source) => source.seconds()),
    loadClient: processCpuSeconds(loadPid),
    machine: machineCpuSeconds(),
  };
}

function minus(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a - b;
}

/** One load client run against `target`, CPU sampled over the measured window. */
async function measureTarget(
  target: BenchTarget,
  settings: LoadClientOptions,
  cleanup: Cleanup,
): Promise<TargetRun> {
  const load = startLoadClient(target.url, settings, cleanup);
  let start: Snapshot | undefined;
  let end: Snapshot | undefined;
  const result = await load.result(
    () => (start = snapshot(target, load.pid)),
    () => (end = snapshot(target, load.pid)),
  );
  if (!start || !end) throw new Error("the load client never reported its window start");
  const [begin, finish] = [start, end];
  return {
    name: target.name,
    command: target.command,
    loadCommand: load.command.replace(target.url, "URL"),
    load: result,
    seconds: (finish.at - begin.at) / 1000,
    relay: { label: target.relayCpu.label, seconds: minus(finish.relay, begin.relay) },
    extra: target.extraCpu.map((source, i) => ({
      label: source.label,
      seconds: minus(finish.extra[i], begin.extra[i]),
    })),
    loadClient: minus(finish.loadClient, begin.loadClient),
    machine:
      begin.machine && finish.machine
        ? {
            busy: finish.machine.busy - begin.machine.busy,
            total: finish.machine.total - begin.machine.total,
          }
        : undefined,
    accepted: await target.accepted(result.answered),
  };
}

/**
 * @example await runWorkersBench(parseBenchOptions(["--only-workers"]));
 */
export async function runWorkersBench(options: BenchOptions): Promise<void> {
  const started = performance.now();
  const cleanup = new Cleanup();
  const settings: LoadClientOptions = {
    connections: options.workersConnections,
    seconds: options.workersSeconds,
    warmupSeconds: WARMUP_SECONDS,
    inboxes: options.inboxes,
  };
  const runs: TargetRun[] = [];
  try {
    const node = await startNodeTarget(options.roundMs, cleanup);
    runs.push(await measureTarget(node, settings, cleanup));
    await node.stop();
    const worker = await startWorkerTarget(options.roundMs, cleanup);
    runs.push(await measureTarget(worker, settings, cleanup));
    await worker.stop();
  } finally {
    await cleanup.close();
  }
  printWorkersComparison(runs, options.roundMs);
  console.log(
    `Workers part: ${formatNumber((performance.now() - started) / 1000, 1)} s, cleaned up ` +
      "(relays and workerd stopped, temporary state directories removed).",
  );
}
