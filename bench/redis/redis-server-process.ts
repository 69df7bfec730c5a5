/**
 * The Redis the bench runs against: REDIS_URL if set, else a redis-server started on a free
 * loopback port with its own temporary directory and persistence off, registered with the
 * cleanup so it is stopped and its directory removed whatever happens.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { env } from "node:process";
import { ManagedChild } from "../../testkit/child-process.js";
import type { Cleanup } from "../common/cleanup.js";
import { freePort } from "../../testkit/free-port.js";
import { redisReady } from "../../testkit/redis-ready.js";

const READY_TIMEOUT_MS = 10_000;
const REDIS_URL_TIMEOUT_MS = 3000;
/** Tries with a new port when another process took the free one before redis-server bound it. */
const PORT_ATTEMPTS = 3;

export interface BenchRedis {
  url: string;
  /**
   * How it was obtained, for the report: anything but "redis-server" is shared, so the bench
   * deletes the keys it wrote there.
   */
  source: "REDIS_URL" | "REDIS_CLUSTER_URL" | "redis-server";
  /** The server process (own redis-server only), for CPU accounting. */
  pid: number | undefined;
  /** The exact command line (own redis-server only). */
  command: string | undefined;
}

async function startServer(cleanup: Cleanup): Promise<BenchRedis> {
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "shroud-bench-redis-"));
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"];
    args.push("no", "--dir", dir);
    const server = new ManagedChild("redis-server", "redis-server", args);
    const stopServer = cleanup.add({
      name: "redis-server",
      stop: async () => {
        await server.stop("SIGTERM", 5000);
        await rm(dir, { recursive: true, force: true });
      },
      now: () => {
        server.killNow();
        rmSync(dir, { recursive: true, force: true });
      },
    });
    const url = `redis://127.0.0.1:${port}`;
    try {
      const exited = server
        .exited()
        .then(() => `redis-server exited: ${server.stderr || "no stderr"}`);
      await redisReady(url, Date.now() + READY_TIMEOUT_MS, exited);
      const command = `redis-server --port ${port} --bind 127.0.0.1 --save '' --appendonly no --dir ${dir}`;
      return { url, source: "redis-server", pid: server.pid, command };
    } catch (error) {
      lastError = error;
      await stopServer();
    }
  }
  throw new Error(`cannot start redis-server (install it, or set REDIS_URL): ${String(lastError)}`);
}

/**
 * @example const redis = await benchRedis(cleanup); // redis.url
 */
export async function benchRedis(cleanup: Cleanup): Promise<BenchRedis> {
  const fromEnv = env["REDIS_URL"];
  if (!fromEnv) return startServer(cleanup);
  try {
    await redisReady(fromEnv, Date.now() + REDIS_URL_TIMEOUT_MS);
  } catch (error) {
    throw new Error(`REDIS_URL ${fromEnv} does not answer PING: ${String(error)}`);
  }
  return { url: fromEnv, source: "REDIS_URL", pid: undefined, command: undefined };
}
