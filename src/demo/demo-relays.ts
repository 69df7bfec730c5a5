/**
 * Two federated relays in this process, over real HTTP on loopback, each with an operator
 * recorder around its ports and HTTP handler. Mirrors src/node.ts (bind first, then open the
 * relay with the bound origin), except that both servers are bound before either relay opens:
 * each relay names the other as its peer, so both origins must be known first.
 */
import { serve, type ServerType } from "@hono/node-server";
import { Redis } from "ioredis";
import { memoryPorts, type MemoryPorts } from "../adapters/memory/memory-ports.js";
import { redisPorts, type RedisPorts } from "../adapters/redis/redis-ports.js";
import { deletePrefix, keyValues, prefixKeys } from "../adapters/redis/redis-prefix.js";
import { randomBytes, toHex } from "../protocol/bytes.js";
import { SecretBytes } from "../protocol/secret-bytes.js";
import { createRelayApp } from "../relay/app.js";
import { relayConfig } from "../relay/relay-config.js";
import { Relay } from "../relay/relay.js";
import { DemoError } from "./demo-error.js";
import { OperatorRecorder } from "./operator-recorder.js";

/** Where the demo's relays keep their state. */
export type DemoBackend = "memory" | { redisUrl: string; prefix?: string };

/** What a relay holds at rest, to search for metadata. */
export interface StoredState {
  /** Everything, back to back. */
  blob: Buffer;
  /** The part that is meant to hold no times (on Redis: all but BullMQ's job keys). */
  timeless: Buffer;
  /** What the blob consists of, for the report. */
  what: string;
}

export interface DemoRelay {
  label: "A" | "B";
  url: string;
  relay: Relay;
  recorder: OperatorRecorder;
  storedState(): Promise<StoredState>;
}

export interface DemoRelays {
  a: DemoRelay;
  b: DemoRelay;
  backend: "memory" | "redis";
  /** Stops both relays and servers and, on Redis, deletes every key the demo made. */
  close(): Promise<void>;
}

type Handler = (request: Request) => Response | Promise<Response>;

/** A server bound on a loopback port whose handler is set once the relay (or page) is ready. */
export interface Bound {
  server: ServerType;
  url: string;
  setHandler(handler: Handler): void;
}

/** Binds an HTTP server on 127.0.0.1 at a free port; it answers 503 until a handler is set. */
export function bind(): Promise<Bound> {
  let handler: Handler = () => new Response("starting", { status: 503 });
  return new Promise((resolve, reject) => {
    const server = serve(
      { fetch: (request: Request) => handler(request), hostname: "127.0.0.1", port: 0 },
      (info) =>
        resolve({
          server,
          url: `http://127.0.0.1:${info.port}`,
          setHandler: (next) => (handler = next),
        }),
    );
    server.once("error", reject);
  });
}

/** Closes a server, dropping kept-alive connections (a peer's would hold close() for ever). */
export async function stopServer(
  server: ServerType,
  whileClosing: () => Promise<void>,
): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const http = server as { closeIdleConnections?: () => void; closeAllConnections?: () => void };
  http.closeIdleConnections?.();
  await whileClosing();
  http.closeAllConnections?.();
  await closed;
}

/**
 * A Redis URL without its password, for messages.
 *
 * @example redactUrl("redis://u:pw@host:6379") // "redis://u:***@host:6379"
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return "(unparsable URL)";
  }
}

async function connectCheck(url: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    retryStrategy: () => null,
  });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (cause) {
    redis.disconnect();
    throw new DemoError(`cannot reach Redis at ${redactUrl(url)}`, { cause });
  }
  return redis;
}

/** Every key under `{prefix:` with its contents, and the same without BullMQ's job keys. */
async function dumpRedis(redis: Redis, prefix: string): Promise<StoredState> {
  const keys = await prefixKeys(redis, prefix);
  const all: Buffer[] = [];
  const timeless: Buffer[] = [];
  // BullMQ's round schedule and delivery jobs carry job timestamps (docs/DEPLOYMENT.md).
  const bullmq = [`{${prefix}:q}`, `{${prefix}:fq}`];
  for (const key of keys) {
    const { values } = await keyValues(redis, key);
    all.push(key, ...values);
    if (!bullmq.some((p) => key.toString("latin1").startsWith(p))) timeless.push(key, ...values);
  }
  return {
    blob: Buffer.concat(all),
    timeless: Buffer.concat(timeless),
    what: `${keys.length} Redis keys under {${prefix}:*} with their values`,
  };
}

/**
 * Starts relays A and B, peers of each other, with rounds of `roundMs`.
 *
 * @example
 * const relays = await startDemoRelays({ backend: "memory", roundMs: 150 });
 * try { ... } finally { await relays.close(); }
 */
export async function startDemoRelays(options: {
  backend: DemoBackend;
  roundMs: number;
}): Promise<DemoRelays> {
  const { backend, roundMs } = options;
  const redisUrl = backend === "memory" ? undefined : backend.redisUrl;
  const admin = redisUrl ? await connectCheck(redisUrl) : undefined;
  const base =
    backend === "memory" ? "" : (backend.prefix ?? `shroud-demo-${toHex(randomBytes(4))}`);
  const bound: Bound[] = [];
  const opened: { ports: MemoryPorts | RedisPorts; relay?: Relay }[] = [];
  let closing: Promise<void> | undefined;
  const cleanup = () => (closing ??= closeAll());
  const closeAll = async () => {
    await Promise.all(
      bound.map((b, i) =>
        stopServer(b.server, async () => {
          await opened[i]?.relay?.stop();
        }),
      ),
    );
    for (const { ports } of opened) if ("close" in ports) await ports.close();
    if (admin) {
      for (const label of ["a", "b"]) await deletePrefix(admin, `${base}-${label}`);
      admin.disconnect();
    }
  };
  try {
    bound.push(await bind(), await bind());
    const relays: DemoRelay[] = [];
    for (const [i, label] of (["A", "B"] as const).entries()) {
      const own = bound[i]!;
      const peer = bound[1 - i]!;
      const prefix = `${base}-${label.toLowerCase()}`;
      const ports: MemoryPorts | RedisPorts = redisUrl
        ? redisPorts({ url: redisUrl, prefix, masterKey: SecretBytes.random(32) })
        : memoryPorts();
      const entry: (typeof opened)[number] = { ports };
      opened.push(entry);
      const recorder = new OperatorRecorder();
      const relay = await Relay.open(
        relayConfig({
          origin: own.url,
          roundIntervalMs: roundMs,
          federation: { peers: [peer.url] },
        }),
        recorder.wrapPorts(ports),
      );
      entry.relay = relay;
      own.setHandler(recorder.wrapHandler(createRelayApp(relay).fetch));
      relays.push({
        label,
        url: own.url,
        relay,
        recorder,
        storedState: async () => {
          if (admin) return dumpRedis(admin, prefix);
          const memory = ports as MemoryPorts;
          const blob = Buffer.concat([
            Buffer.from(memory.inboxes.snapshot() + memory.pool.snapshot()),
            ...recorder.federationWrites,
          ]);
          return {
            blob,
            timeless: blob,
            what:
              "inbox store and round pool snapshots, every forward held for a peer and " +
              "every batch that carried one",
          };
        },
      });
    }
    // Both open before either starts, so neither sends its first batches to a relay still
    // answering 503.
    for (const { relay } of opened) await relay!.start();
    return {
      a: relays[0]!,
      b: relays[1]!,
      backend: redisUrl ? "redis" : "memory",
      close: cleanup,
    };
  } catch (error) {
    await cleanup().catch(() => undefined);
    throw error;
  }
}
