/**
 * A Redis Cluster for tests, never skipped: REDIS_CLUSTER_URL (a redis+cluster:// URL) if set;
 * else three (or `masters`) redis-server processes in cluster mode on free loopback ports, joined
 * by `redis-cli --cluster create` with no replicas, stopped afterwards. With `persistence` each
 * node keeps an AOF written on every command (`appendfsync always`), so a node can be killed and
 * restarted with its data and its slots.
 */
import { execFile, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freePort } from "./free-port.js";
import { spawnRedisServer, stopRedisServer } from "./redis-server-child.js";

const run = promisify(execFile);
const READY_MS = 15_000;

/** One node of a cluster the fixture started. */
export interface ClusterNode {
  port: number;
  /** redis:// URL of this node alone. */
  url: string;
  /** SIGKILLs the node (its AOF stays). */
  kill(): Promise<void>;
  /** Starts a killed node again on the same port and data directory; resolves when it serves. */
  restart(): Promise<void>;
}

export interface RedisClusterFixture {
  /** redis+cluster:// URL naming every master. */
  url: string;
  source: "REDIS_CLUSTER_URL" | "redis-server";
  /** The nodes the fixture started (none for REDIS_CLUSTER_URL). */
  nodes: ClusterNode[];
  stop(): Promise<void>;
}

class NodeProcess implements ClusterNode {
  #child: ChildProcess | undefined;
  readonly url: string;

  constructor(
    readonly port: number,
    private readonly busPort: number,
    private readonly dir: string,
    private readonly persistence: boolean,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    const args = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"];
    args.push("--cluster-port", String(this.busPort), "--cluster-node-timeout", "2000");
    if (this.persistence) args.push("--appendonly", "yes", "--appendfsync", "always");
    else args.push("--appendonly", "no");
    this.#child = await spawnRedisServer(this.port, this.dir, args, READY_MS);
  }

  async kill(): Promise<void> {
    if (this.#child) await stopRedisServer(this.#child, "SIGKILL");
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.start();
    await clusterOk([this.url]);
  }

  async stop(): Promise<void> {
    if (this.#child) await stopRedisServer(this.#child);
  }
}

/** Resolves once every node reports cluster_state:ok and knows every slot. */
async function clusterOk(urls: string[]): Promise<void> {
  const deadline = Date.now() + READY_MS;
  for (const url of urls) {
    const client = new Redis(url, { maxRetriesPerRequest: 1 });
    client.on("error", () => undefined);
    try {
      for (;;) {
        const info = await client.cluster("INFO").catch(() => "");
        if (/cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info)) break;
        if (Date.now() > deadline) throw new Error(`cluster not ok at ${url}: ${info}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      client.disconnect();
    }
  }
}

/** Two distinct free ports (the node's and its cluster bus's). */
async function portPair(taken: Set<number>): Promise<[number, number]> {
  const pick = async () => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  return [await pick(), await pick()];
}

/**
 * @example
 * const cluster = await startRedisCluster();
 * afterAll(() => cluster.stop());
 */
export async function startRedisCluster(
  options: { masters?: number; persistence?: boolean } = {},
): Promise<RedisClusterFixture> {
  const fromEnv = process.env["REDIS_CLUSTER_URL"];
  if (fromEnv)
    return { url: fromEnv, source: "REDIS_CLUSTER_URL", nodes: [], stop: async () => {} };
  const masters = options.masters ?? 3;
  const taken = new Set<number>();
  const nodes: NodeProcess[] = [];
  const dirs: string[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  };
  try {
    for (let i = 0; i < masters; i++) {
      const [port, bus] = await portPair(taken);
      const dir = await mkdtemp(join(tmpdir(), "shroud-cluster-"));
      dirs.push(dir);
      nodes.push(new NodeProcess(port, bus, dir, options.persistence ?? false));
    }
    await Promise.all(nodes.map((node) => node.start()));
    const addresses = nodes.map((node) => `127.0.0.1:${node.port}`);
    await run(
      "redis-cli",
      ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"],
      { timeout: READY_MS },
    );
    await clusterOk(nodes.map((node) => node.url));
  } catch (error) {
    await stop();
    throw new Error(
      `No Redis Cluster for the tests: set REDIS_CLUSTER_URL, or install redis-server and ` +
        `redis-cli (apt-get install redis-server) (${error instanceof Error ? error.message : error})`,
    );
  }
  return {
    url: `redis+cluster://${nodes.map((node) => `127.0.0.1:${node.port}`).join(",")}`,
    source: "redis-server",
    nodes,
    stop,
  };
}
