/**
 * The Workers part of `npm run bench`: sealed deposits/s and CPU per deposit of the relay inside
 * workerd (wrangler's local runtime, Durable Objects on SQLite), beside the Node relay on the
 * embedded memory store, from the same run. Both get the same load from the same HTTP load client
 * (http-load-client.ts, a child process: pre-sealed bodies, keep-alive connections, same
 * concurrency, warm-up and window), one relay after the other so they never share the cores.
 * While the window runs, this process samples the CPU time of the relay's processes from /proc.
 */
import { fileURLToPath } from "node:url";
import type { BenchOptions } from "../common/bench-options.js";
import { ManagedChild } from "../../testkit/child-process.js";
import { Cleanup } from "../common/cleanup.js";
import { parseLoadEvent, type HttpLoadResult } from "../http/http-load-report.js";
import { machineCpuSeconds, processCpuSeconds } from "../common/process-cpu.js";
import { formatNumber } from "../common/text-table.js";
import { printWorkersComparison, type TargetRun } from "./workers-report.js";
import { startNodeTarget, startWorkerTarget, type BenchTarget } from "./workers-relays.js";

const LOAD_CLIENT = fileURLToPath(new URL("../http/http-load-client.js", import.meta.url));
/** Warm-up of each run, before its window (after the load client's own relay warm-up). */
const WARMUP_SECONDS = 1;
/** Inbox creation, sealing and the runs together stay well under this. */
const LOAD_TIMEOUT_MS = 180_000;

interface LoadSettings {
  connections: number;
  seconds: number;
  warmupSeconds: number;
  inboxes: number;
}

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
  settings: LoadSettings,
  cleanup: Cleanup,
): Promise<TargetRun> {
  const args = ["--url", target.url, "--connections", String(settings.connections)];
  args.push("--seconds", String(settings.seconds), "--warmup", String(settings.warmupSeconds));
  args.push("--inboxes", String(settings.inboxes));
  const load = new ManagedChild("load client", process.execPath, [LOAD_CLIENT, ...args]);
  const stopLoad = cleanup.add({
    name: "load client",
    stop: async () => void (await load.stop("SIGTERM", 2000)),
    now: () => load.killNow(),
  });
  let start: Snapshot | undefined;
  load.onLine((line) => {
    if (parseLoadEvent(line)?.event === "window-start") start = snapshot(target, load.pid);
  });
  const result: HttpLoadResult = await load.waitForLine((line) => {
    const event = parseLoadEvent(line);
    return event?.event === "result" ? event.result : undefined;
  }, LOAD_TIMEOUT_MS);
  const end = snapshot(target, load.pid);
  await stopLoad();
  if (!start) throw new Error("the load client never reported its window start");
  const begin = start;
  return {
    name: target.name,
    command: target.command,
    loadCommand: `node dist/bench-run/bench/http/http-load-client.js ${args.join(" ").replace(target.url, "URL")}`,
    load: result,
    seconds: (end.at - begin.at) / 1000,
    relay: { label: target.relayCpu.label, seconds: minus(end.relay, begin.relay) },
    extra: target.extraCpu.map((source, i) => ({
      label: source.label,
      seconds: minus(end.extra[i], begin.extra[i]),
    })),
    loadClient: minus(end.loadClient, begin.loadClient),
    machine:
      begin.machine && end.machine
        ? {
            busy: end.machine.busy - begin.machine.busy,
            total: end.machine.total - begin.machine.total,
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
  const settings: LoadSettings = {
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
