/** Command-line options of `npm run bench -- [--seconds N] [--concurrency N] ...`. */
import { argv as processArgv } from "node:process";

export interface BenchOptions {
  /** Measured seconds per row (default 3). */
  seconds: number;
  /** Warm-up seconds before each row, not counted (default 0.5). */
  warmupSeconds: number;
  /** Operations kept in flight at once (default 16). */
  concurrency: number;
  /** The relay's roundIntervalMs (default 1000, the production default). */
  roundMs: number;
  /** Inboxes the deposits are spread over (default 32). */
  inboxes: number;
  /** Measured seconds of the HTTP run against the relay on Redis (default 5). */
  redisSeconds: number;
  /** Connections (= requests in flight) of the HTTP load client (default 50). */
  redisConnections: number;
  /** Run the in-process memory-backend part (default true; --no-memory skips it). */
  memory: boolean;
  /**
   * Run the stores part: deposits and a round close through the ports of the in-memory, SQLite
   * and (with the Redis part) Redis stores side by side (default true; --no-stores skips it).
   */
  stores: boolean;
  /** Run the Redis part (default true; --no-redis skips it). */
  redis: boolean;
  /** Measured seconds of forwarded deposits sent to relay A (default 6). */
  federationSeconds: number;
  /** Run the federation part (default true; --no-federation skips it). */
  federation: boolean;
  /** Seconds the senders send in each MLS group flow (default 3). */
  mlsSeconds: number;
  /** Run the MLS groups part (default true; --no-mls skips it, --only-mls runs it alone). */
  mls: boolean;
  /** Members of the MLS part's large group (default 1000; 0 skips it). */
  mlsLarge: number;
  /** Measured seconds of each relay's HTTP run in the Workers part (default 5). */
  workersSeconds: number;
  /** Connections (= requests in flight) of that HTTP load client (default 50). */
  workersConnections: number;
  /** Run the Workers part (default true; --no-workers skips it, --only-workers runs it alone). */
  workers: boolean;
  /**
   * Run the Privacy Pass part: issuance, verification and deposits with tokens beside without
   * (default true; --no-tokens skips it, --only-tokens runs it alone).
   */
  tokens: boolean;
  /** Measured seconds of each HTTP run of the Redis Cluster part (default 4). */
  clusterSeconds: number;
  /**
   * Run the Redis Cluster part: 1 against 3 masters on this machine (default false; --cluster
   * adds it, --only-cluster runs it alone).
   */
  cluster: boolean;
  /** Where `--json FILE` writes the run's named figures (default: nowhere). */
  json: string | undefined;
  /** Where `--latency-chart FILE` writes the Redis part's latency sweep as SVG (default: nowhere). */
  latencyChart: string | undefined;
}

const DEFAULTS: BenchOptions = {
  seconds: 3,
  warmupSeconds: 0.5,
  concurrency: 16,
  roundMs: 1000,
  inboxes: 32,
  redisSeconds: 5,
  redisConnections: 50,
  memory: true,
  stores: true,
  redis: true,
  federationSeconds: 6,
  federation: true,
  mlsSeconds: 3,
  mls: true,
  mlsLarge: 1000,
  workersSeconds: 5,
  workersConnections: 50,
  workers: true,
  tokens: true,
  clusterSeconds: 4,
  cluster: false,
  json: undefined,
  latencyChart: undefined,
};

type NumericKey = {
  [K in keyof BenchOptions]: BenchOptions[K] extends number ? K : never;
}[keyof BenchOptions];
type SwitchKey = {
  [K in keyof BenchOptions]: BenchOptions[K] extends boolean ? K : never;
}[keyof BenchOptions];

const FLAGS: Record<string, { key: NumericKey; integer: boolean; min: number }> = {
  "--seconds": { key: "seconds", integer: false, min: 0.1 },
  "--warmup": { key: "warmupSeconds", integer: false, min: 0 },
  "--concurrency": { key: "concurrency", integer: true, min: 1 },
  "--round-ms": { key: "roundMs", integer: true, min: 0 },
  "--inboxes": { key: "inboxes", integer: true, min: 1 },
  "--redis-seconds": { key: "redisSeconds", integer: false, min: 0.1 },
  "--redis-connections": { key: "redisConnections", integer: true, min: 1 },
  "--federation-seconds": { key: "federationSeconds", integer: false, min: 0.1 },
  "--mls-seconds": { key: "mlsSeconds", integer: false, min: 0.1 },
  "--mls-large": { key: "mlsLarge", integer: true, min: 0 },
  "--workers-seconds": { key: "workersSeconds", integer: false, min: 0.1 },
  "--workers-connections": { key: "workersConnections", integer: true, min: 1 },
  "--cluster-seconds": { key: "clusterSeconds", integer: false, min: 0.1 },
};

/** Flags without a value that turn a part off. */
const SWITCHES: Record<string, SwitchKey> = {
  "--no-memory": "memory",
  "--no-stores": "stores",
  "--no-redis": "redis",
  "--no-federation": "federation",
  "--no-mls": "mls",
  "--no-workers": "workers",
  "--no-tokens": "tokens",
};

/** Flags without a value that add a part a full run leaves out. */
const EXTRAS: Record<string, SwitchKey> = {
  "--cluster": "cluster",
};

/** Flags without a value that run one part alone. */
const ONLY: Record<string, SwitchKey> = {
  "--only-mls": "mls",
  "--only-workers": "workers",
  "--only-tokens": "tokens",
  "--only-cluster": "cluster",
};
const PARTS: readonly SwitchKey[] = [
  "memory",
  "stores",
  "redis",
  "federation",
  "mls",
  "workers",
  "tokens",
  "cluster",
];

export const USAGE =
  "usage: npm run bench -- [--seconds 3] [--warmup 0.5] [--concurrency 16] [--round-ms 1000]" +
  " [--inboxes 32] [--redis-seconds 5] [--redis-connections 50] [--federation-seconds 6]" +
  " [--mls-seconds 3] [--mls-large 1000] [--workers-seconds 5] [--workers-connections 50] [--no-memory] [--no-stores]" +
  " [--no-redis] [--no-federation] [--no-mls] [--no-workers] [--no-tokens] [--only-mls]" +
  " [--only-workers] [--only-tokens]" +
  " [--cluster-seconds 4] [--cluster] [--only-cluster] [--json FILE] [--latency-chart FILE]\n" +
  "  --json FILE writes {figures: [{name, value, unit, floor?, ratio?}]} for the figures measured.\n" +
  "  --latency-chart FILE writes the Redis part's deposits/s against p50/p99 latency as SVG.\n" +
  "  The Redis and federation parts use REDIS_URL if set, else start redis-server on free" +
  " loopback ports.\n" +
  "  The cluster part (--cluster: added to a full run; --only-cluster: alone) compares one" +
  " redis-server (REDIS_URL if set) with a 3-master Redis Cluster (REDIS_CLUSTER_URL if set).";

/** Parses `--flag value` and `--flag=value`; throws RangeError with the usage on bad input. */
export function parseBenchOptions(argv: readonly string[] = processArgv.slice(2)): BenchOptions {
  const options = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const off = SWITCHES[arg];
    if (off) {
      options[off] = false;
      continue;
    }
    const extra = EXTRAS[arg];
    if (extra) {
      options[extra] = true;
      continue;
    }
    const only = ONLY[arg];
    if (only) {
      for (const part of PARTS) options[part] = part === only;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq < 0 ? arg : arg.slice(0, eq);
    const flag = FLAGS[name];
    const text = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (name === "--json" || name === "--latency-chart") {
      if (text === undefined || text.trim() === "") {
        throw new RangeError(`${name} needs a file name\n${USAGE}`);
      }
      if (name === "--json") options.json = text;
      else options.latencyChart = text;
      continue;
    }
    const value = Number(text);
    if (
      !flag ||
      text === undefined ||
      text.trim() === "" ||
      !Number.isFinite(value) ||
      value < flag.min ||
      (flag.integer && !Number.isInteger(value))
    ) {
      throw new RangeError(`bad argument ${JSON.stringify(arg)}\n${USAGE}`);
    }
    options[flag.key] = value;
  }
  return options;
}
