/**
 * The repo's Worker under wrangler's local runtime (workerd, Miniflare's Durable Objects and
 * Queues), offline, on a loopback port: shared by the bench and the tests that reach a Worker
 * relay from Node. It serves a bundle built beforehand (buildWorkerBundle), so wrangler's dev
 * bundler, which watches the sources and reloads the Worker mid-run, stays out of the way.
 */
import { join } from "node:path";
import { REPO_ROOT } from "./repo-root.js";

export interface LocalWorkerOptions {
  port: number;
  /** The bundle's entry module (buildWorkerBundle). */
  entrypoint: string;
  /** Where Durable Object and queue state persist; reuse it to restart the same relay. */
  stateDir: string;
  /** SHROUD_MASTER_KEY and SHROUD_ADMIN_TOKEN, given as secrets. */
  masterKey: string;
  adminToken: string;
  /** SHROUD_ROUND_MS. */
  roundMs: number;
  peers?: string[];
  policy?: "allowlist" | "open";
  /** More plain variables (e.g. SHROUD_TOKENS); the ones above take precedence. */
  vars?: Record<string, string>;
}

export interface LocalWorker {
  /** http://127.0.0.1:PORT, also the relay's SHROUD_ORIGIN. */
  url: string;
  /** GET of an operator route with the admin token; throws unless it answers 200. */
  admin(path: string): Promise<Response>;
  /** One counter series from GET /v1/admin/metrics, 0 when absent. */
  counter(series: string): Promise<number>;
  dispose(): Promise<void>;
}

/**
 * Starts the Worker and waits until wrangler serves it.
 *
 * @example
 * const worker = await startLocalWorker({ port, entrypoint, stateDir, masterKey, adminToken, roundMs: 200 });
 */
export async function startLocalWorker(options: LocalWorkerOptions): Promise<LocalWorker> {
  // wrangler asks no questions and sends nothing when these are set, and does not reload the
  // Worker (failing the requests in flight) when wrangler.toml is touched.
  process.env["WRANGLER_SEND_METRICS"] = "false";
  process.env["CLOUDFLARE_CF_FETCH_ENABLED"] = "false";
  process.env["WRANGLER_CI_DISABLE_CONFIG_WATCHING"] = "true";
  // Imported here, not at the top: wrangler is a devDependency and slow to load, and the bench's
  // other parts must run without it.
  const { unstable_startWorker } = await import("wrangler");
  const url = `http://127.0.0.1:${options.port}`;
  const text = (value: string) => ({ type: "plain_text" as const, value });
  const secret = (value: string) => ({ type: "secret_text" as const, value });
  const worker = await unstable_startWorker({
    config: join(REPO_ROOT, "wrangler.toml"),
    entrypoint: options.entrypoint,
    build: { bundle: false },
    bindings: {
      ...Object.fromEntries(Object.entries(options.vars ?? {}).map(([k, v]) => [k, text(v)])),
      SHROUD_ORIGIN: text(url),
      SHROUD_ROUND_MS: text(String(options.roundMs)),
      SHROUD_FEDERATION: text(options.policy ?? "allowlist"),
      SHROUD_PEERS: text((options.peers ?? []).join(",")),
      SHROUD_MASTER_KEY: secret(options.masterKey),
      SHROUD_ADMIN_TOKEN: secret(options.adminToken),
    },
    dev: {
      server: { hostname: "127.0.0.1", port: options.port },
      inspector: false,
      persist: options.stateDir,
      logLevel: "error",
    },
  });
  try {
    await worker.ready;
  } catch (error) {
    await worker.dispose().catch(() => undefined);
    throw error;
  }
  const admin = async (path: string) => {
    const response = await fetch(new URL(path, url), {
      headers: { authorization: `Bearer ${options.adminToken}` },
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`${path} answered HTTP ${response.status}`);
    }
    return response;
  };
  return {
    url,
    admin,
    async counter(series) {
      const metrics = await (await admin("/v1/admin/metrics")).text();
      const line = metrics.split("\n").find((l) => l.startsWith(`${series} `));
      return line ? Number(line.slice(series.length + 1)) : 0;
    },
    dispose: () => worker.dispose(),
  };
}
