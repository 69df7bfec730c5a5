/**
 * Serving a relay on Node: builds the ports for the chosen backend, opens the relay and binds
 * @hono/node-server. The CLI's `serve` and the tests use this.
 */
import { serve, type ServerType } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { memoryPorts } from "./adapters/memory/memory-ports.js";
import { FileKeyStore } from "./adapters/node/file-key-store.js";
import { redisPorts, type RedisPortsOptions } from "./adapters/redis/redis-ports.js";
import { createRelayApp } from "./relay/app.js";
import type { KeyStore } from "./relay/ports/key-store.js";
import { relayConfig, type RelayConfigInput } from "./relay/relay-config.js";
import { Relay, type RelayPorts } from "./relay/relay.js";

export interface NodeRelayOptions {
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Port to bind; 0 picks a free one (default 8787). */
  port?: number;
  /** Public origin; default http://HOST:PORT as bound. */
  origin?: string;
  /** Directory for keys (default ./.shroud). Ignored when `keys` is given. */
  dataDir?: string;
  /** Key store to use instead of the data directory. */
  keys?: KeyStore;
  /** Relay settings other than the origin. */
  config?: Omit<RelayConfigInput, "origin">;
  /** Ports to run on; default: the embedded memory backend (or Redis, with `redis`). */
  ports?: RelayPorts;
  /** Run on Redis (ioredis + BullMQ) instead of the embedded store; keys then live in Redis. */
  redis?: RedisPortsOptions;
}

export interface RunningRelay {
  relay: Relay;
  url: string;
  close(): Promise<void>;
}

function listen(
  app: { fetch: (request: Request) => Response | Promise<Response> },
  host: string,
  port: number,
) {
  return new Promise<{ server: ServerType; port: number }>((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info: AddressInfo) =>
      resolve({ server, port: info.port }),
    );
    server.once("error", reject);
  });
}

/**
 * Starts a relay over HTTP.
 *
 * @example
 * const { url, close } = await startNodeRelay({ port: 0, config: { roundIntervalMs: 0 } });
 */
export async function startNodeRelay(options: NodeRelayOptions = {}): Promise<RunningRelay> {
  const host = options.host ?? "127.0.0.1";
  const redis = options.redis && !options.ports ? redisPorts(options.redis) : undefined;
  const ports =
    options.ports ??
    redis ??
    memoryPorts({ keys: options.keys ?? new FileKeyStore(options.dataDir ?? ".shroud") });
  // The origin is part of the signed descriptor, so the port must be known before the relay
  // opens: bind first with a placeholder app, then swap in the real one.
  let handler: (request: Request) => Response | Promise<Response> = () =>
    new Response("starting", { status: 503 });
  const { server, port } = await listen({ fetch: (r) => handler(r) }, host, options.port ?? 8787);
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;
  let relay: Relay;
  try {
    relay = await Relay.open(
      relayConfig({ ...options.config, origin: options.origin ?? url }),
      ports,
    );
  } catch (error) {
    server.close();
    await redis?.close();
    throw error;
  }
  handler = createRelayApp(relay).fetch;
  await relay.start();
  return {
    relay,
    url,
    async close() {
      // Stop accepting first; a peer's keep-alive connection would hold close() open for ever,
      // so idle connections are dropped now and any left once the relay has stopped.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const http = server as {
        closeIdleConnections?: () => void;
        closeAllConnections?: () => void;
      };
      http.closeIdleConnections?.();
      await relay.stop();
      http.closeAllConnections?.();
      await closed;
      await redis?.close();
    },
  };
}
