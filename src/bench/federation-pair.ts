/**
 * Two relays federated with each other, each on a Redis of its own and in a child process of
 * its own (federated-relay.ts: startNodeRelay with `redis: { url, prefix, masterKey }` and
 * `federation: { policy: "allowlist", peers: [the other] }`), the same round interval on both.
 * Both are registered with the cleanup, which signals them together: each keeps delivering a
 * batch to the other every round until it stops, so stopping them one after the other waits on
 * the one still running.
 */
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { DEFAULT_FEDERATION } from "../relay/relay-config.js";
import { benchPrefix, deletePrefix } from "./bench-prefix.js";
import { BenchChild } from "./child-process.js";
import type { Cleanup } from "./cleanup.js";
import { freePort } from "./free-port.js";
import type { BenchRedis } from "./redis-server-process.js";

const RELAY_ENTRY = fileURLToPath(new URL("./federated-relay.js", import.meta.url));
const START_TIMEOUT_MS = 20_000;
/** SIGKILL after this long when a relay has not finished stopping. */
const STOP_GRACE_MS = 15_000;

export interface FederatedRelay {
  name: "A" | "B";
  url: string;
  /** Its Redis key prefix. */
  prefix: string;
  redis: BenchRedis;
  /** A connection of the bench's own to the relay's Redis, for reading its state. */
  admin: Redis;
  pid: number | undefined;
  /** The command line, for the report. */
  command: string;
  /** What the relay wrote to stderr so far (its log). */
  stderr(): string;
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

/** The URL in the child's {"event":"listening","url":...} line, if this is that line. */
function listeningUrl(line: string): string | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const event = JSON.parse(line) as { event?: unknown; url?: unknown };
    return event.event === "listening" && typeof event.url === "string" ? event.url : undefined;
  } catch {
    return undefined;
  }
}

async function stopChild(child: BenchChild): Promise<void> {
  const code = await child.stop("SIGTERM", STOP_GRACE_MS);
  if (code !== 0) throw new Error(`${child.name} exited with ${code ?? "a signal"}`);
}

async function startRelay(
  name: "A" | "B",
  redis: BenchRedis,
  port: number,
  peer: string,
  roundMs: number,
  cleanup: Cleanup,
): Promise<{ relay: FederatedRelay; child: BenchChild }> {
  const prefix = benchPrefix(`fed-${name.toLowerCase()}`);
  const admin = adminConnection(redis, `relay ${name}`, cleanup);
  if (redis.source === "REDIS_URL") {
    cleanup.add({
      name: `keys ${prefix}`,
      stop: async () => void (await deletePrefix(admin, prefix)),
      now: () => undefined,
    });
  }
  const args = ["--redis", redis.url, "--prefix", prefix, "--port", String(port)];
  args.push("--peer", peer, "--round-ms", String(roundMs));
  const child = new BenchChild(`relay ${name}`, process.execPath, [RELAY_ENTRY, ...args]);
  const stop = cleanup.add({
    name: `relay ${name}`,
    stop: () => stopChild(child),
    now: () => child.killNow(),
  });
  try {
    const url = await child.waitForLine(listeningUrl, START_TIMEOUT_MS);
    const command = `node dist/bench/federated-relay.js ${args.join(" ")}`;
    const relay: FederatedRelay = {
      name,
      url,
      prefix,
      redis,
      admin,
      pid: child.pid,
      command,
      stderr: () => child.stderr,
    };
    return { relay, child };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
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
  // Newest first: this step runs before the relays' own ones, which then find them exited.
  cleanup.add({
    name: "relays A and B",
    stop: async () => void (await Promise.all([stopChild(a.child), stopChild(b.child)])),
    now: () => {
      a.child.killNow();
      b.child.killNow();
    },
  });
  const { slotsPerBatch, slotCapacity, delivery } = DEFAULT_FEDERATION;
  const setup =
    `federation defaults: ${slotsPerBatch} slots of ${slotCapacity} B per batch, delivery ` +
    `${delivery.maxAttempts} attempts from ${delivery.baseDelayMs} ms (4 batches in flight)`;
  return { a: a.relay, b: b.relay, roundMs, setup };
}
