/**
 * Serving a relay on Node: builds the ports for the chosen backend, opens the relay and binds
 * @hono/node-server. The CLI's `serve` and the tests use this.
 */
import { serve, type Http2Bindings, type HttpBindings } from "@hono/node-server";
import type { IncomingMessage, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { memoryPorts } from "./adapters/memory/memory-ports.js";
import { joinDataDirLock, lockDataDir } from "./adapters/node/data-dir-lock.js";
import { FileKeyStore } from "./adapters/node/file-key-store.js";
import { readNodeBody } from "./adapters/node/incoming-body.js";
import { useNodeHpke } from "./adapters/node/node-hpke-primitives.js";
import { nodeBlindSigner } from "./adapters/node/node-blind-signer.js";
import { requestAddressKey } from "./adapters/node/client-address.js";
import type { Attester } from "./relay/attester.js";
import {
  DEFAULT_INGRESS_LIMITS,
  guardServer,
  ingressServerOptions,
  type IngressGuard,
  type IngressLimits,
} from "./adapters/node/ingress-limits.js";
import {
  redisPorts,
  type RedisPorts,
  type RedisPortsOptions,
} from "./adapters/redis/redis-ports.js";
import { adoptKeyRing } from "./adapters/sqlite/adopt-key-ring.js";
import { sqlitePorts, type SqlitePorts } from "./adapters/sqlite/sqlite-ports.js";
import { createRelayApp } from "./relay/app.js";
import { addOperatorRoutes, type ReadinessCheck } from "./relay/operator-routes.js";
import type { SecretBytes } from "./protocol/secret-bytes.js";
import { ConfigError } from "./protocol/errors.js";
import { MetricName } from "./relay/ports/metrics.js";
import type { KeyStore } from "./relay/ports/key-store.js";
import type { Logger } from "./relay/ports/logger.js";
import { relayConfig, type RelayConfigInput } from "./relay/relay-config.js";
import { Relay, type RelayPorts } from "./relay/relay.js";

// On Node every seal and open runs on node:crypto, several times faster than on WebCrypto there;
// importing this entry point is what selects it, before any key exists.
useNodeHpke();

/** How startNodeRelay binds, where it keeps its state and what it caps. */
export interface NodeRelayOptions {
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Port to bind; 0 picks a free one (default 8787). */
  port?: number;
  /** Public origin; default http://HOST:PORT as bound. */
  origin?: string;
  /**
   * The data directory (default ./.shroud): the SQLite store's file (`shroud.db`), or on the
   * memory store the key file (`keys.json`, unless `keys` is given). While the relay serves,
   * `serve.lock` there holds this process's pid: a second relay on the directory is refused.
   */
  dataDir?: string;
  /** The memory store's key store, instead of the data directory's key file. */
  keys?: KeyStore;
  /**
   * The embedded store when neither `ports` nor `redis` is given: "memory" (default; inboxes
   * and rounds in this process, lost on exit) or "sqlite" (everything in DIR/shroud.db, kept
   * across restarts, the HPKE keys included).
   */
  embedded?: "memory" | "sqlite";
  /** Relay settings other than the origin. */
  config?: Omit<RelayConfigInput, "origin">;
  /** Ports to run on; default: the embedded store (`embedded`), or Redis with `redis`. */
  ports?: RelayPorts;
  /** Run on Redis (ioredis + BullMQ) instead of the embedded store; keys then live in Redis. */
  redis?: RedisPortsOptions;
  /**
   * HTTP limits: timeouts, connection caps and the per-address request rate; each field left
   * out takes its value from DEFAULT_INGRESS_LIMITS (10 s headers, 30 s request, 5 s keep-alive,
   * 1024 connections, 64 per address, 100 requests/s per address with a burst of 1000).
   */
  limits?: Partial<IngressLimits>;
  /** Caps on what the store holds (see StoreLimits); each left out keeps its default. */
  store?: StoreLimits;
  /**
   * Serve GET /metrics (Prometheus text): given, it is on; with `token`, only to requests that
   * carry `Authorization: Bearer <token>`. Off by default. GET /readyz is always there.
   */
  metrics?: { token?: SecretBytes };
  /** Where the relay's operational events go (default: text lines on stderr). */
  logger?: Logger;
  /**
   * Who may get Privacy Pass tokens at POST /v1/tokens, when `config.tokens.issue` is set (see
   * relay/attester.ts: invite secrets, a header from the operator's proxy, or per address).
   */
  attester?: Attester;
  /**
   * This process is one of several serving the SQLite store in `dataDir` together (`serve
   * --workers N`): the parent process holds the directory's lock, and rounds are closed by
   * whichever process holds the file's lease. Only with `embedded: "sqlite"`.
   */
  sharedDataDir?: boolean;
}

/**
 * Caps on what a relay's store holds, so a flood ends in `quota` (or 503) answers rather than
 * in an out-of-memory process.
 */
export interface StoreLimits {
  /** Most inboxes (embedded stores: default 250,000; Redis: default 1,000,000). */
  maxInboxes?: number;
  /** Embedded stores only: most bytes of stored items (default 512 MiB). */
  maxStoreBytes?: number;
  /** Embedded stores only: most bytes of items waiting in rounds (default 256 MiB). */
  maxPendingBytes?: number;
  /** Embedded stores only: most replay records (default 1,000,000; then new requests get 503). */
  maxReplayRecords?: number;
}

/** The embedded store's default cap on bytes waiting in rounds (the others live with each store). */
export const DEFAULT_MAX_PENDING_BYTES = 256 * 1024 * 1024;

/** A relay serving over HTTP: the relay, the URL it answers on, and how to stop it. */
export interface RunningRelay {
  relay: Relay;
  url: string;
  /** Stops accepting, lets the relay finish its open round, closes connections and the store. */
  close(): Promise<void>;
}

type Handler = (
  request: Request,
  env: HttpBindings | Http2Bindings,
) => Response | Promise<Response>;

function listen(
  handler: () => Handler,
  onRefused: () => void,
  host: string,
  port: number,
  limits: IngressLimits,
) {
  return new Promise<{ server: Server; guard: IngressGuard; port: number }>((resolve, reject) => {
    const server = serve(
      {
        // Over-the-rate requests are refused before the app reads a byte of their body.
        fetch: (request: Request, env: HttpBindings | Http2Bindings) => {
          const refused = guard.refuse(request, env.incoming as IncomingMessage);
          if (!refused) return handler()(request, env);
          onRefused();
          return refused;
        },
        hostname: host,
        port,
        serverOptions: ingressServerOptions(limits),
      },
      (info: AddressInfo) => resolve({ server: server as Server, guard, port: info.port }),
    ) as Server;
    const guard = guardServer(server, limits);
    server.once("error", (error) => {
      guard.close();
      reject(error);
    });
  });
}

/**
 * What /readyz checks: the store answers (a PING to Redis, a query on the SQLite file; the
 * memory store always does), on Redis the round queue answers too (rounds close through it,
 * perhaps on another server), and the key ring holds a key to publish.
 */
function readinessChecks(
  relay: Relay,
  redis: RedisPorts | undefined,
  sqlite: SqlitePorts | undefined,
): ReadinessCheck[] {
  return [
    {
      name: "store",
      check: async () => {
        if (redis) await redis.redis.ping();
        await sqlite?.ping();
      },
    },
    ...(redis ? [{ name: "queue", check: () => redis.pingQueue() }] : []),
    {
      name: "keys",
      check: async () => {
        if (relay.keyRing.published(relay.ports.clock.now(), 0).length === 0) {
          throw new Error("no key to publish");
        }
      },
    },
  ];
}

/** The backend's Prometheus rendering; every backend Node runs has one. */
function metricsText(ports: RelayPorts): () => string | Promise<string> {
  const metrics = ports.metrics as Partial<{ render(): string | Promise<string> }>;
  if (typeof metrics.render !== "function") {
    throw new TypeError("these ports' metrics cannot render Prometheus text");
  }
  return () => metrics.render!();
}

/**
 * Starts a relay over HTTP.
 *
 * @example
 * const { url, close } = await startNodeRelay({ port: 0, config: { roundIntervalMs: 0 } });
 */
export async function startNodeRelay(options: NodeRelayOptions = {}): Promise<RunningRelay> {
  const host = options.host ?? "127.0.0.1";
  const store = options.store ?? {};
  const redis =
    options.redis && !options.ports
      ? redisPorts({
          ...options.redis,
          ...(store.maxInboxes === undefined ? {} : { maxInboxes: store.maxInboxes }),
        })
      : undefined;
  const caps = {
    inboxes: {
      ...(store.maxInboxes === undefined ? {} : { maxInboxes: store.maxInboxes }),
      ...(store.maxStoreBytes === undefined ? {} : { maxBytes: store.maxStoreBytes }),
    },
    pool: { maxPendingBytes: store.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES },
    ...(store.maxReplayRecords === undefined
      ? {}
      : { replay: { maxRecords: store.maxReplayRecords } }),
  };
  const dataDir = options.dataDir ?? ".shroud";
  // One relay per data directory (see data-dir-lock.ts); a memory store given its own key store
  // keeps nothing there.
  const embedded = !options.ports && !redis;
  const shared = options.sharedDataDir === true;
  if (shared && !(embedded && options.embedded === "sqlite")) {
    throw new ConfigError("sharedDataDir is for the embedded SQLite store only");
  }
  if (shared) joinDataDirLock(dataDir);
  const unlock =
    embedded && !shared && (options.embedded === "sqlite" || !options.keys)
      ? lockDataDir(dataDir)
      : () => undefined;
  let sqlite: SqlitePorts | undefined;
  try {
    sqlite =
      embedded && options.embedded === "sqlite"
        ? sqlitePorts({ dataDir, ...caps, ...(shared ? { shared } : {}) })
        : undefined;
  } catch (error) {
    unlock();
    throw error;
  }
  /** Closes the embedded store's file and gives the data directory up. */
  const closeEmbedded = async () => {
    await sqlite?.close();
    unlock();
  };
  const backend =
    options.ports ??
    redis ??
    sqlite ??
    memoryPorts({ keys: options.keys ?? new FileKeyStore(dataDir), ...caps });
  // Blind signing on node:crypto: the relay issues tokens with it when configured to.
  const ports: RelayPorts = {
    ...backend,
    ...(options.logger ? { logger: options.logger } : {}),
    blindSigner: backend.blindSigner ?? nodeBlindSigner(),
  };
  const closeStore = async () => {
    await redis?.close();
    await closeEmbedded();
  };
  try {
    // A data directory the in-memory store used keeps its identity on the SQLite store.
    if (sqlite) await adoptKeyRing(sqlite.keys, new FileKeyStore(dataDir), sqlite.clock.now());
    await redis?.verify();
  } catch (error) {
    await closeStore();
    throw error;
  }
  // The origin is part of the signed descriptor, so the port must be known before the relay
  // opens: bind first, then serve. Requests that come meanwhile (a `--workers` process binds a
  // socket the others already serve on) wait for the relay instead of being refused.
  let opened: (handler: Handler) => void = () => undefined;
  const whenOpen = new Promise<Handler>((resolve) => (opened = resolve));
  const serving: { handler: Handler; relay?: Relay } = {
    handler: (request, env) => whenOpen.then((handler) => handler(request, env)),
  };
  const limits = { ...DEFAULT_INGRESS_LIMITS, ...options.limits };
  let bound: Awaited<ReturnType<typeof listen>>;
  try {
    bound = await listen(
      () => serving.handler,
      () => serving.relay?.ports.metrics.count(MetricName.envelopeErrors, { status: "429" }),
      host,
      options.port ?? 8787,
      limits,
    );
  } catch (error) {
    // The file's handle goes; a Redis client is left to the caller's exit, as before.
    await closeEmbedded();
    throw error;
  }
  const { server, guard, port } = bound;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;
  let relay: Relay;
  try {
    relay = await Relay.open(
      relayConfig({ ...options.config, origin: options.origin ?? url }),
      ports,
    );
  } catch (error) {
    opened(() => new Response("not started", { status: 503 }));
    guard.close();
    server.close();
    await closeStore();
    throw error;
  }
  // A proxied request leaves its client's connection idle until the next hop answers, after
  // waiting for the round boundary when the ingress releases per round.
  const { federation, roundIntervalMs } = relay.config;
  const held = federation.ingressRelease === "round" ? roundIntervalMs : 0;
  server.timeout = Math.max(server.timeout, held + federation.proxyTimeoutMs + 5000);
  const clientAddress = (request: Request, env: unknown) =>
    requestAddressKey(
      request.headers.get("x-forwarded-for"),
      (env as HttpBindings).incoming?.socket.remoteAddress,
      limits.trustProxy,
    );
  const appOptions = {
    readBody: readNodeBody,
    clientAddress,
    ...(options.attester ? { attester: options.attester } : {}),
  };
  const app = addOperatorRoutes(createRelayApp(relay, appOptions), {
    readiness: readinessChecks(relay, redis, sqlite),
    ...(options.metrics ? { metrics: { ...options.metrics, render: metricsText(ports) } } : {}),
  });
  serving.handler = app.fetch;
  serving.relay = relay;
  opened(app.fetch);
  await relay.start();
  // Idempotent: a second close (a test's finally, a second signal) waits for the first.
  let closing: Promise<void> | undefined;
  const close = async () => {
    // Stop accepting first; a peer's keep-alive connection would hold close() open for ever,
    // so idle connections are dropped now and any left once the relay has stopped.
    guard.close();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    await relay.stop();
    server.closeAllConnections();
    await closed;
    await closeStore();
  };
  return {
    relay,
    url,
    close: () => (closing ??= close()),
  };
}
