/**
 * Two relays federated with each other, each on a Redis of its own and in a child process of
 * its own: `shroud serve --redis URL --redis-prefix P --port N --round-ms T --peer <the other>`
 * (bench-relay-process.ts; federation policy allowlist, the default), the same round interval on both.
 * Both are registered with the cleanup (SIGTERM, SIGKILL after a grace period).
 */
import { Redis } from "ioredis";
import { DEFAULT_FEDERATION } from "../../src/relay/relay-config.js";
import { deletePrefix } from "../../src/adapters/redis/redis-prefix.js";
import { benchPrefix } from "../common/bench-prefix.js";
import type { Cleanup } from "../common/cleanup.js";
import { freePort } from "../../testkit/free-port.js";
import type { BenchRedis } from "../redis/redis-server-process.js";
import { startBenchRelay } from "../common/bench-relay-process.js";

/** A relay still running this long after SIGTERM is killed (and the stop reports it). */
export const STOP_GRACE_MS = 3000;

export interface FederatedRelay {
  name: "A" | "B";
  url: string;
  /** Its Redis key prefix. */
  prefix: string;
  redis: BenchRedis;
  /** A connection of the bench's own to the relay's Redis, for reading its state. */
  admin: Redis;
  pid: number | undefined;
  /** The command line, for the report (the master key is in the environment, not shown). */
  command: string;
  /** What the relay wrote to stderr so far (its log). */
  stderr(): string;
  /** SIGTERM, SIGKILL after STOP_GRACE_MS (once; a failure is logged by the cleanup). */
  stop(): Promise<void>;
  /** Resolves with the exit code once the relay has exited (null: killed by a signal). */
  exited(): Promise<number | null>;
}

export interface FederationPair {
  a: FederatedRelay;
  b: FederatedRelay;
  roundMs: number;
  /** What the relays run with, for the report. */
  setup: string;
}

function adminConnection(redis: BenchRedis, name: string, cleanup: Cleanup): Redis {
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 3 });
  admin.on("error", () => undefined);
  cleanup.add({
    name: `${name} Redis connection`,
    stop: async () => void admin.disconnect(),
    now: () => admin.disconnect(),
  });
  return admin;
}

async function startRelay(
  name: "A" | "B",
  redis: BenchRedis,
  port: number,
  peer: string,
  roundMs: number,
  cleanup: Cleanup,
): Promise<FederatedRelay> {
  const prefix = benchPrefix(`fed-${name.toLowerCase()}`);
  const admin = adminConnection(redis, `relay ${name}`, cleanup);
  if (redis.source === "REDIS_URL") {
    cleanup.add({
      name: `keys ${prefix}`,
      stop: async () => void (await deletePrefix(admin, prefix)),
      now: () => undefined,
    });
  }
  const relay = await startBenchRelay(
    {
      redisUrl: redis.url,
      prefix,
      roundMs,
      port,
      peers: [peer],
      name: `relay ${name}`,
      stopGraceMs: STOP_GRACE_MS,
    },
    cleanup,
  );
  return {
    name,
    url: relay.url,
    prefix,
    redis,
    admin,
    pid: relay.pid,
    command: relay.command,
    stderr: relay.stderr,
    stop: relay.stop,
    exited: relay.exited,
  };
}

/**
 * @example const { a, b } = await startFederationPair(redisA, redisB, 200, cleanup);
 */
export async function startFederationPair(
  redisA: BenchRedis,
  redisB: BenchRedis,
  roundMs: number,
  cleanup: Cleanup,
): Promise<FederationPair> {
  // Each relay names the other as its peer before either listens, so both ports come first.
  const portA = await freePort();
  let portB = await freePort();
  while (portB === portA) portB = await freePort();
  const a = await startRelay("A", redisA, portA, `http://127.0.0.1:${portB}`, roundMs, cleanup);
  const b = await startRelay("B", redisB, portB, `http://127.0.0.1:${portA}`, roundMs, cleanup);
  const { slotsPerBatch, slotCapacity, delivery } = DEFAULT_FEDERATION;
  const setup =
    `federation defaults: ${slotsPerBatch} slots of ${slotCapacity} B per batch, delivery ` +
    `${delivery.maxAttempts} attempts from ${delivery.baseDelayMs} ms (4 batches in flight)`;
  return { a, b, roundMs, setup };
}
