/**
 * The Node ingress limits against real sockets: a client dripping its body or its headers is cut
 * off by the request or header timeout (40 of them at once too, and the relay keeps serving);
 * the connection caps close the next connection, per process and per client address; the
 * per-address request rate answers 429 after the burst while another address (127.0.0.2, a
 * second loopback source on Linux) is still served; X-Forwarded-For counts only when the
 * operator says the relay is behind a proxy.
 */
import { request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { memoryPorts, type MemoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { AddressLimiter } from "../../src/adapters/node/address-limiter.js";
import { addressKey, forwardedAddress } from "../../src/adapters/node/client-address.js";
import {
  DEFAULT_INGRESS_LIMITS,
  type IngressLimits,
} from "../../src/adapters/node/ingress-limits.js";
import { startNodeRelay, type RunningRelay } from "../../src/node.js";
import { MediaTypes } from "../../src/protocol/labels.js";
import { collectingLogger } from "../../testkit/collecting-logger.js";

let running: RunningRelay | undefined;
let logs: string[] = [];
let ports: MemoryPorts | undefined;
const sockets = new Set<Socket>();

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await running?.close();
  running = undefined;
});

async function relayWith(limits: Partial<IngressLimits>): Promise<{ port: number }> {
  logs = [];
  ports = { ...memoryPorts(), logger: collectingLogger(logs) };
  running = await startNodeRelay({
    port: 0,
    ports,
    config: { roundIntervalMs: 60_000 },
    limits,
  });
  return { port: Number(new URL(running.url).port) };
}

interface RawClient {
  socket: Socket;
  /** Everything the relay sent on this connection. */
  received: () => string;
  /** Resolves once the relay has closed the connection. */
  closed: Promise<void>;
  /** Resolves once the TCP connection is up. */
  connected: Promise<void>;
}

function rawClient(port: number, localAddress = "127.0.0.1"): RawClient {
  const socket = connect({ host: "127.0.0.1", port, localAddress });
  sockets.add(socket);
  let data = "";
  socket.setEncoding("latin1").on("data", (chunk: string) => (data += chunk));
  socket.on("error", () => undefined);
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const connected = new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  return { socket, received: () => data, closed, connected };
}

/** Sends `bytes` every `everyMs` until the connection closes. */
function drip(client: RawClient, bytes: string, everyMs: number): void {
  const timer = setInterval(() => {
    if (!client.socket.destroyed) client.socket.write(bytes);
  }, everyMs);
  void client.closed.then(() => clearInterval(timer));
}

const slowPostHeaders = (length: number) =>
  `POST /v1/relay HTTP/1.1\r\nHost: relay\r\nContent-Type: ${MediaTypes.request}\r\n` +
  `Content-Length: ${length}\r\n\r\n`;

/** One HTTP request from `localAddress`; the status and body (no connection reuse). */
function send(
  port: number,
  options: { method?: string; path?: string; body?: Uint8Array; localAddress?: string } = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port,
        method: options.method ?? "POST",
        path: options.path ?? "/v1/relay",
        localAddress: options.localAddress ?? "127.0.0.1",
        agent: false,
        headers: { "content-type": MediaTypes.request, ...headers },
      },
      (res) => {
        let body = "";
        res.setEncoding("latin1").on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(options.body ?? new Uint8Array(100));
  });
}

describe("client addresses", () => {
  it("limits IPv4 by address and IPv6 by /64, and reads the proxy's X-Forwarded-For entry", () => {
    expect(addressKey("192.0.2.7")).toBe("192.0.2.7");
    expect(addressKey("::ffff:192.0.2.7")).toBe("192.0.2.7");
    expect(addressKey("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8:1:2::9")).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressKey(undefined)).toBeUndefined();
    expect(addressKey("relay.example")).toBeUndefined();
    expect(forwardedAddress("203.0.113.9, 198.51.100.4")).toBe("198.51.100.4");
    expect(forwardedAddress("198.51.100.4:4711")).toBe("198.51.100.4");
    expect(forwardedAddress("[2001:db8::1]:443")).toBe("2001:db8::1");
    expect(forwardedAddress("2001:db8::1")).toBe("2001:db8::1");
    expect(forwardedAddress("198.51.100.4, unknown")).toBeUndefined();
    expect(forwardedAddress("")).toBeUndefined();
    expect(forwardedAddress(null)).toBeUndefined();
  });

  it("keeps buckets in a bounded map and forgets an address once its bucket has refilled", () => {
    let now = 0;
    const limiter = new AddressLimiter({
      requestsPerSecond: 10,
      requestBurst: 5,
      maxConnectionsPerAddress: 2,
      maxTrackedAddresses: 3,
      now: () => now,
    });
    expect(limiter.windowMs).toBe(500);
    for (let i = 0; i < 5; i++) expect(limiter.takeRequest("a")).toBe(true);
    expect(limiter.takeRequest("a")).toBe(false);
    now += 100; // one token back
    expect(limiter.takeRequest("a")).toBe(true);
    expect(limiter.takeRequest("a")).toBe(false);
    for (const key of ["b", "c", "d", "e"]) limiter.takeRequest(key);
    expect(limiter.tracked).toBe(3);
    // "a" was the least recently used: evicted, so it starts again with a full bucket.
    expect(limiter.takeRequest("a")).toBe(true);
    now += 1000;
    limiter.sweep();
    expect(limiter.tracked).toBe(0);

    expect(limiter.openConnection("x")).toBe(true);
    expect(limiter.openConnection("x")).toBe(true);
    expect(limiter.openConnection("x")).toBe(false);
    expect(limiter.openConnection("y")).toBe(true);
    limiter.closeConnection("x");
    expect(limiter.openConnection("x")).toBe(true);
    for (const key of ["x", "x", "y"]) limiter.closeConnection(key);
    expect(limiter.tracked).toBe(0);
  });
});

describe("Node ingress limits", () => {
  it("has defaults a normal client never meets, with timeouts in seconds", () => {
    expect(DEFAULT_INGRESS_LIMITS).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 1024,
      maxConnectionsPerAddress: 64,
      requestsPerSecond: 100,
      requestBurst: 1000,
      trustProxy: false,
    });
  });

  it("cuts off a client that drips its body once the request timeout has passed", async () => {
    const { port } = await relayWith({ headersTimeoutMs: 1000, requestTimeoutMs: 2000 });
    const client = rawClient(port);
    client.socket.write(slowPostHeaders(64 * 1024));
    drip(client, "abc", 200);
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect((await send(port, { method: "GET", path: "/healthz" })).body).toBe("ok");
  });

  it("cuts off a client that drips its headers once the header timeout has passed", async () => {
    const { port } = await relayWith({ headersTimeoutMs: 1000, requestTimeoutMs: 2000 });
    const client = rawClient(port);
    client.socket.write("POST /v1/relay HTTP/1.1\r\n");
    drip(client, "X-Slow: a\r\n", 200);
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("cuts off 40 slow clients at once and keeps serving the others", async () => {
    const { port } = await relayWith({ headersTimeoutMs: 1000, requestTimeoutMs: 2000 });
    const clients = Array.from({ length: 40 }, () => rawClient(port));
    for (const client of clients) {
      client.socket.write(slowPostHeaders(1024 * 1024));
      drip(client, "x".repeat(16), 250);
    }
    await Promise.all(clients.map((c) => c.closed));
    for (const client of clients) expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect((await send(port, { method: "GET", path: "/healthz" })).body).toBe("ok");
    expect(logs).toEqual([]);
  });

  it("closes the connection beyond the process's cap; the others keep working", async () => {
    const { port } = await relayWith({ maxConnections: 3, maxConnectionsPerAddress: 0 });
    const held = [rawClient(port), rawClient(port), rawClient(port)];
    await Promise.all(held.map((c) => c.connected));
    // The server counts a connection once it has accepted it: ask on each before the next.
    for (const client of held) {
      client.socket.write("GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n");
      await expect.poll(() => client.received(), { timeout: 10_000 }).toMatch(/\r\n\r\nok$/);
    }
    const refused = rawClient(port);
    await refused.closed;
    expect(refused.received()).toBe("");
    held[0]!.socket.write("GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n");
    await expect.poll(() => held[0]!.received(), { timeout: 10_000 }).toMatch(/ok[^]*ok$/);
    // Once one closes, there is room again.
    held[1]!.socket.destroy();
    await held[1]!.closed;
    await expect
      .poll(
        async () => (await send(port, { method: "GET", path: "/healthz" }).catch(() => null))?.body,
        {
          timeout: 10_000,
        },
      )
      .toBe("ok");
  });

  it("closes one address's connection beyond its cap while another address connects", async () => {
    const { port } = await relayWith({ maxConnectionsPerAddress: 2 });
    const held = [rawClient(port), rawClient(port)];
    for (const client of held) {
      client.socket.write("GET /healthz HTTP/1.1\r\nHost: relay\r\n\r\n");
      await expect.poll(() => client.received(), { timeout: 10_000 }).toMatch(/\r\n\r\nok$/);
    }
    const refused = rawClient(port);
    await refused.closed;
    expect(refused.received()).toBe("");
    const other = await send(port, { method: "GET", path: "/healthz", localAddress: "127.0.0.2" });
    expect(other).toEqual({ status: 200, body: "ok" });
  });

  it("answers 429 after one address's burst while another address is still served", async () => {
    const { port } = await relayWith({ requestsPerSecond: 0.01, requestBurst: 3 });
    // Bodies of no bucket size: the relay answers 400 when it takes them at all.
    for (let i = 0; i < 3; i++) expect((await send(port)).status).toBe(400);
    const limited = await send(port);
    expect(limited).toEqual({ status: 429, body: "too many requests" });
    expect((await send(port, { localAddress: "127.0.0.2" })).status).toBe(400);
    // Only POST /v1/relay is limited: the descriptor and health stay reachable.
    expect((await send(port, { method: "GET", path: "/healthz" })).body).toBe("ok");
    expect(ports!.metrics.render()).toContain('shroud_envelope_errors_total{status="429"} 1');
    expect(logs).toEqual([]);
  });

  it("ignores X-Forwarded-For unless told the relay is behind a proxy", async () => {
    let { port } = await relayWith({ requestsPerSecond: 0.01, requestBurst: 1 });
    expect((await send(port, {}, { "x-forwarded-for": "198.51.100.1" })).status).toBe(400);
    expect((await send(port, {}, { "x-forwarded-for": "198.51.100.2" })).status).toBe(429);
    await running!.close();
    running = undefined;

    ({ port } = await relayWith({ requestsPerSecond: 0.01, requestBurst: 1, trustProxy: true }));
    expect((await send(port, {}, { "x-forwarded-for": "198.51.100.1" })).status).toBe(400);
    // Entries before the proxy's own are the client's to invent: they change nothing.
    const spoofed = { "x-forwarded-for": "203.0.113.5, 198.51.100.1" };
    expect((await send(port, {}, spoofed)).status).toBe(429);
    expect((await send(port, {}, { "x-forwarded-for": "198.51.100.2" })).status).toBe(400);
  });
});
