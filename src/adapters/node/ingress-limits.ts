/**
 * The HTTP limits of a relay served on Node: how long a client may take to send its headers and
 * its whole request, how long an idle keep-alive connection stays, how many connections the
 * process holds, and per client address a request rate (POST /v1/relay) and a number of open
 * connections. A request over the rate is answered 429 with an opaque body; a connection over a
 * cap is closed as soon as it is accepted; a request slower than the request timeout is cut off
 * (408) and its partial body dropped.
 */
import type { IncomingMessage, Server } from "node:http";
import type { Socket } from "node:net";
import { RateLimitError } from "../../relay/errors.js";
import { httpFailureFor } from "../../relay/http-errors.js";
import { AddressLimiter } from "./address-limiter.js";
import { addressKey, requestAddressKey } from "./client-address.js";

/** HTTP limits of a relay on Node: timeouts, connection caps and the per-address request rate. */
export interface IngressLimits {
  /** Time a client has to send a request's headers, in ms (default 10 s). */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request, body included, in ms (default 30 s). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection is kept open, in ms (default 5 s). */
  keepAliveTimeoutMs: number;
  /** Connections open at once; the next ones are closed on arrival (default 1024). */
  maxConnections: number;
  /** Connections open at once from one client address; 0: no limit (default 64). */
  maxConnectionsPerAddress: number;
  /** POST /v1/relay requests per second one client address may keep up; 0: no limit (default 100). */
  requestsPerSecond: number;
  /** Requests one client address may send at once on top of the rate (default 1000). */
  requestBurst: number;
  /**
   * Behind one reverse proxy: the client address is the last X-Forwarded-For entry, and the
   * per-address connection limit is off (every connection comes from the proxy). Default false.
   */
  trustProxy: boolean;
}

/**
 * Limits a normal client never meets: they bound what one address can hold or cost, and how
 * long a slow client can hold memory, to seconds instead of Node's 5 minutes.
 */
export const DEFAULT_INGRESS_LIMITS: Readonly<IngressLimits> = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
  maxConnectionsPerAddress: 64,
  requestsPerSecond: 100,
  requestBurst: 1000,
  trustProxy: false,
});

/** How often Node checks connections against the header and request timeouts. */
const TIMEOUT_CHECK_MS = 1000;
/** A connection on which nothing moves for this long (a response nobody reads) is closed. */
const SOCKET_IDLE_MS = 60_000;
/** How often refilled per-address buckets are dropped from memory. */
const SWEEP_MS = 10_000;

/**
 * The createServer options these limits need at construction (the rest is set on the server).
 *
 * @example serve({ fetch, port, serverOptions: ingressServerOptions(limits) });
 */
export function ingressServerOptions(limits: IngressLimits): {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  connectionsCheckingInterval: number;
} {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(TIMEOUT_CHECK_MS, limits.headersTimeoutMs),
  };
}

/** The per-address half of the limits, attached to one server. */
export interface IngressGuard {
  /** A 429 answer when this request is over its address's rate, else undefined. */
  refuse(request: Request, incoming: IncomingMessage): Response | undefined;
  /** Stops the periodic sweep (the server is closing). */
  close(): void;
}

/**
 * Applies the limits to a Node HTTP server (created with ingressServerOptions) and returns the
 * per-request check, which the server's fetch handler calls first.
 *
 * @example
 * const guard = guardServer(server, limits);
 * const fetch = (request, env) => guard.refuse(request, env.incoming) ?? app.fetch(request);
 */
export function guardServer(server: Server, limits: IngressLimits): IngressGuard {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
  server.timeout = Math.max(SOCKET_IDLE_MS, limits.requestTimeoutMs);
  const limiter = new AddressLimiter({
    requestsPerSecond: limits.requestsPerSecond,
    requestBurst: limits.requestBurst,
    maxConnectionsPerAddress: limits.trustProxy ? 0 : limits.maxConnectionsPerAddress,
  });
  server.on("connection", (socket: Socket) => {
    const key = addressKey(socket.remoteAddress);
    if (key === undefined) return;
    if (!limiter.openConnection(key)) {
      socket.destroy();
      return;
    }
    socket.once("close", () => limiter.closeConnection(key));
  });
  const sweep = setInterval(() => limiter.sweep(), SWEEP_MS);
  sweep.unref();
  return {
    refuse(request, incoming) {
      if (limits.requestsPerSecond <= 0) return undefined;
      if (incoming.method !== "POST" || incoming.url?.split("?")[0] !== "/v1/relay") {
        return undefined;
      }
      const key = requestAddressKey(
        request.headers.get("x-forwarded-for"),
        incoming.socket.remoteAddress,
        limits.trustProxy,
      );
      if (key === undefined || limiter.takeRequest(key)) return undefined;
      const { status, body } = httpFailureFor(new RateLimitError());
      // The body is left unread: closing the connection spares reading it.
      return new Response(body, {
        status,
        headers: { "content-type": "text/plain", "retry-after": "1", connection: "close" },
      });
    },
    close() {
      clearInterval(sweep);
    },
  };
}
