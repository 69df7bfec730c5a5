/**
 * A Worker relay for Node-side tests: the repo's wrangler.toml served by wrangler's local
 * runtime (workerd, Miniflare's Durable Objects and Queues) on a loopback port, offline. State
 * persists in a directory of its own, so a test can stop the Worker and start it again on the
 * same state (a peer outage), and no two runs share anything.
 */
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { startLocalWorker } from "./local-worker.js";
import { buildWorkerBundle } from "./worker-bundle.js";
import { randomBytes, toBase64Url } from "../src/protocol/bytes.js";

export interface WorkerRelayOptions {
  /** Port to serve on; give the old one (and `stateDir`) to restart the same relay. */
  port?: number;
  /** Directory of the Worker's Durable Object and queue state (default: a new temp dir). */
  stateDir?: string;
  /** SHROUD_MASTER_KEY (default: a new random key); keep it to restart on the same state. */
  masterKey?: string;
  peers?: string[];
  policy?: "allowlist" | "open";
  /** SHROUD_ROUND_MS (default 200). */
  roundMs?: number;
  /** More plain variables, e.g. `{ SHROUD_TOKENS: "always" }`. */
  vars?: Record<string, string>;
}

export interface WorkerRelay {
  url: string;
  port: number;
  stateDir: string;
  masterKey: string;
  /** Bearer token of the Worker's /v1/admin routes. */
  adminToken: string;
  /** GET /v1/admin/metrics (Prometheus text). */
  metrics(): Promise<string>;
  /** One counter series from the metrics, 0 when absent. */
  counter(series: string): Promise<number>;
  /** GET /v1/admin/dead-letters. */
  deadLetters(): Promise<{ id: string; peer: string; attempts: number; bytes: number }[]>;
  /** Stops the Worker; the state directory stays until `remove`. */
  close(): Promise<void>;
  /** Deletes the state directory. */
  remove(): Promise<void>;
}

/**
 * The deploy bundle, built once per test process and removed at exit. Served as it is, it is
 * what `wrangler deploy` would upload, and wrangler's dev bundler (which watches the sources
 * and shares .wrangler/tmp between concurrent runs) stays out of the way.
 */
let bundle: Promise<string> | undefined;
function workerBundle(): Promise<string> {
  bundle ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), "shroud-worker-bundle-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    return buildWorkerBundle(dir);
  })();
  return bundle;
}

/**
 * @example
 * const worker = await startWorkerRelay({ peers: [node.url] });
 * await worker.close();
 */
export async function startWorkerRelay(options: WorkerRelayOptions = {}): Promise<WorkerRelay> {
  const port = options.port ?? (await freePort());
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), "shroud-worker-")));
  const masterKey = options.masterKey ?? toBase64Url(randomBytes(32));
  const adminToken = toBase64Url(randomBytes(24));
  const worker = await startLocalWorker({
    port,
    entrypoint: await workerBundle(),
    stateDir,
    masterKey,
    adminToken,
    roundMs: options.roundMs ?? 200,
    peers: options.peers,
    policy: options.policy,
    ...(options.vars ? { vars: options.vars } : {}),
  });
  return {
    url: worker.url,
    port,
    stateDir,
    masterKey,
    adminToken,
    metrics: async () => (await worker.admin("/v1/admin/metrics")).text(),
    counter: (series) => worker.counter(series),
    async deadLetters() {
      return (await worker.admin("/v1/admin/dead-letters")).json();
    },
    close: () => worker.dispose(),
    remove: () => rm(stateDir, { recursive: true, force: true }),
  };
}
