/**
 * The two relays the Workers part compares, each started the way it runs locally: the Node relay
 * as `shroud serve` on the embedded memory store in a child process, and the Worker through
 * wrangler's programmatic API (`unstable_startWorker`: the deploy bundle of wrangler.toml served
 * by workerd with Miniflare's Durable Objects, offline). Both say which processes' CPU time is
 * theirs.
 */
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { randomBytes, toBase64Url } from "../../src/protocol/bytes.js";
import { MetricName, metricSeries } from "../../src/relay/ports/metrics.js";
import type { Cleanup } from "../common/cleanup.js";
import { freePort } from "../../testkit/free-port.js";
import { startLocalWorker } from "../../testkit/local-worker.js";
import { processCpuSeconds } from "../common/process-cpu.js";
import { descendants, type TreeProcess } from "../common/process-tree.js";
import { buildWorkerBundle } from "../../testkit/worker-bundle.js";
import { startBenchRelay } from "../common/bench-relay-process.js";

/** How long to wait for the Worker's metrics to catch up (they are flushed after the answer). */
const METRICS_SETTLE_MS = 5_000;

/** CPU seconds used so far by one part of a relay; undefined where it cannot be read. */
export interface CpuSource {
  label: string;
  seconds(): number | undefined;
}

export interface BenchTarget {
  /** Row label in the report. */
  name: string;
  url: string;
  /** How it was started, for the report. */
  command: string;
  /** The relay's own CPU time: the figure divided per deposit. */
  relayCpu: CpuSource;
  /** Other processes that work for this relay only, reported beside it (dev-only overhead). */
  extraCpu: CpuSource[];
  /** Deposits the relay counted as accepted, when it can tell from outside. */
  accepted(atLeast: number): Promise<number | undefined>;
  /** Stops the relay (its temporary state is removed by the cleanup). */
  stop(): Promise<void>;
}

function removeLater(cleanup: Cleanup, dir: string): void {
  cleanup.add({
    name: `directory ${dir}`,
    stop: () => rm(dir, { recursive: true, force: true }),
    now: () => rmSync(dir, { recursive: true, force: true }),
  });
}

/**
 * `shroud serve` on the embedded memory store, keys in a temporary directory, on a free port.
 *
 * @example const node = await startNodeTarget(1000, cleanup); ...; await node.stop();
 */
export async function startNodeTarget(roundMs: number, cleanup: Cleanup): Promise<BenchTarget> {
  const dataDir = await mkdtemp(join(tmpdir(), "shroud-bench-node-"));
  removeLater(cleanup, dataDir);
  const relay = await startBenchRelay(
    { roundMs, args: ["--data", dataDir, "--store", "memory"], name: "node relay" },
    cleanup,
  );
  return {
    name: "Node: shroud serve (memory store)",
    url: relay.url,
    command: relay.command.replace(dataDir, "<temp dir>"),
    relayCpu: { label: "node", seconds: () => processCpuSeconds(relay.pid) },
    extraCpu: [],
    accepted: async () => undefined,
    stop: relay.stop,
  };
}

function cpuOf(processes: readonly TreeProcess[]): () => number | undefined {
  return () => {
    if (processes.length === 0) return undefined;
    let total = 0;
    for (const p of processes) {
      const seconds = processCpuSeconds(p.pid);
      if (seconds === undefined) return undefined;
      total += seconds;
    }
    return total;
  };
}

async function versions(workerd: TreeProcess | undefined): Promise<string> {
  const wrangler = (createRequire(import.meta.url)("wrangler/package.json") as { version: string })
    .version;
  const binary = workerd?.args[0];
  if (!binary) return `wrangler ${wrangler}`;
  try {
    const { stdout } = await promisify(execFile)(binary, ["--version"]);
    return `wrangler ${wrangler}, ${stdout.trim()}`;
  } catch {
    return `wrangler ${wrangler}`;
  }
}

/**
 * The repo's Worker (wrangler.toml, bundled as for deployment) in wrangler's local runtime on a
 * free loopback port, Durable Object state in a temporary directory, with a fresh master key and
 * admin token.
 *
 * @example const worker = await startWorkerTarget(1000, cleanup); ...; await worker.stop();
 */
export async function startWorkerTarget(roundMs: number, cleanup: Cleanup): Promise<BenchTarget> {
  const port = await freePort();
  const tempDir = await mkdtemp(join(tmpdir(), "shroud-bench-worker-"));
  removeLater(cleanup, tempDir);
  const before = new Set(descendants().map((p) => p.pid));
  const worker = await startLocalWorker({
    port,
    // The bundle `wrangler deploy` would upload, built once for this run.
    entrypoint: await buildWorkerBundle(join(tempDir, "bundle")),
    stateDir: join(tempDir, "state"),
    masterKey: toBase64Url(randomBytes(32)),
    adminToken: toBase64Url(randomBytes(24)),
    roundMs,
  });
  const url = worker.url;
  let workerds: TreeProcess[] = [];
  const stop = cleanup.add({
    name: "worker (wrangler)",
    stop: () => worker.dispose(),
    now: () => {
      for (const p of workerds) {
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    },
  });
  try {
    // Being ready means wrangler's proxy is listening; the runtime behind it starts on the first
    // request, so its process only exists once a request went through.
    const descriptor = await fetch(new URL("/.well-known/shroud", url));
    if (descriptor.status !== 200) throw new Error(`descriptor answered HTTP ${descriptor.status}`);
    await descriptor.arrayBuffer();
    workerds = descendants().filter((p) => p.name === "workerd" && !before.has(p.pid));
    // wrangler runs two workerd processes: its dev proxy owns the port we asked for and forwards
    // every request to the one that runs the Worker and its Durable Objects. The proxy is a
    // local-development hop that Cloudflare does not have, so it is reported apart.
    const ownsPort = (p: TreeProcess) => p.args.includes(`--socket-addr=entry=127.0.0.1:${port}`);
    const proxy = workerds.filter(ownsPort);
    const runtime = workerds.filter((p) => !ownsPort(p));
    if (process.platform === "linux" && (proxy.length !== 1 || runtime.length !== 1)) {
      const found = workerds.map((p) => `${p.pid} ${p.args.slice(1, 5).join(" ")}`).join("; ");
      throw new Error(`expected wrangler's proxy and one runtime workerd, found: ${found}`);
    }
    const series = metricSeries(MetricName.requests, { kind: "deposit", status: "accepted" });
    return {
      name: "Worker: workerd (wrangler dev runtime)",
      url,
      command:
        `unstable_startWorker (wrangler.toml, the \`wrangler deploy --dry-run\` bundle), ` +
        `${await versions(runtime[0])}; Durable Objects (SQLite) in a temp dir`,
      relayCpu: { label: "workerd (Worker + Durable Objects)", seconds: cpuOf(runtime) },
      extraCpu: [
        { label: "workerd (wrangler's dev proxy)", seconds: cpuOf(proxy) },
        {
          // Miniflare's loopback services and wrangler's controllers live in this process.
          label: "wrangler in the bench process",
          seconds: () => {
            const used = process.cpuUsage();
            return (used.user + used.system) / 1e6;
          },
        },
      ],
      async accepted(atLeast) {
        // Counters are flushed after each answer (waitUntil), so the last ones lag a little.
        const deadline = Date.now() + METRICS_SETTLE_MS;
        for (;;) {
          const count = await worker.counter(series);
          if (count >= atLeast || Date.now() > deadline) return count;
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      },
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
