/**
 * Helpers for the federation tests: relays served over real HTTP on chosen loopback addresses
 * (mirroring src/node.ts, but keeping the node server so every accepted connection's remote
 * address is recorded), a fetch bound to a chosen source address, a recorder of federation
 * batches on the wire, Redis state dumps, and hand-sealed requests for crafted traffic.
 */
import { serve, type ServerType } from "@hono/node-server";
import { Redis } from "ioredis";
import type { Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { memoryPorts, type MemoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { keyValues, prefixKeys } from "../../src/adapters/redis/redis-prefix.js";
import { redisPorts, type RedisPorts } from "../../src/adapters/redis/redis-ports.js";
import { sqlitePorts, type SqlitePorts } from "../../src/adapters/sqlite/sqlite-ports.js";
import Database from "better-sqlite3";
import type { ContactCard } from "../../src/client/inbox.js";
import { sealPayload } from "../../src/client/payload-seal.js";
import { randomBytes, toBase64Url, toHex } from "../../src/protocol/bytes.js";
import { decode, encode } from "../../src/protocol/codec.js";
import { usableKeys, verifyDescriptor, type Descriptor } from "../../src/protocol/descriptor.js";
import { openResponse, REQUEST_OVERHEAD, sealRequest } from "../../src/protocol/envelope.js";
import { MediaTypes } from "../../src/protocol/labels.js";
import { PaddingPolicy } from "../../src/protocol/padding-policy.js";
import {
  MESSAGE_ID_LENGTH,
  relayRequestCodec,
  RequestKind,
  type RelayRequest,
} from "../../src/protocol/relay-request.js";
import { relayResponseCodec, type RelayResponse } from "../../src/protocol/relay-response.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { createRelayApp } from "../../src/relay/app.js";
import type { Attester } from "../../src/relay/attester.js";
import { nodeBlindSigner } from "../../src/adapters/node/node-blind-signer.js";
import { batchOrigin } from "../../src/protocol/federation-batch.js";
import { BATCH_SENDER_HEADER } from "../../src/relay/federation.js";
import type { Clock } from "../../src/relay/ports/clock.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { waitFor } from "../../testkit/wait.js";
import { postInChunks } from "../../testkit/chunked-post.js";
import { relayConfig, type RelayConfigInput } from "../../src/relay/relay-config.js";
import { Relay, type RelayPorts } from "../../src/relay/relay.js";
import type { Backend } from "../../testkit/describe-each-backend.js";
import { collectingLogger } from "../../testkit/collecting-logger.js";

/**
 * Waits until `from` has had every batch it built for `to` acknowledged (HTTP 200): then `to`
 * has handled all of them.
 */
export async function drainLink(from: TestRelay, to: TestRelay, timeoutMs = 10_000) {
  const peer = { peer: to.url };
  const sent = await from.counter(MetricName.federationBatchesSent, peer);
  await waitFor(
    () => from.counter(MetricName.federationBatchesDelivered, peer),
    (delivered) => delivered >= sent,
    timeoutMs,
    `${sent} batches from ${from.url} to reach ${to.url}`,
  );
  return sent;
}

/** One POST /v1/federation a relay made through its ports.http. */
export interface WireBatch {
  url: string;
  body: Uint8Array;
  status: number;
  answer: string;
}

export interface RelayOptions {
  /** Loopback address to listen on (and to name in the origin). */
  host: string;
  /** Port to listen on (0: any free one). Give the old port to restart on the same origin. */
  port?: number;
  backend: Backend;
  config?: Omit<RelayConfigInput, "origin">;
  /** Wraps the relay's outbound HTTP (after the batch recorder), e.g. to lose answers. */
  wrapHttp?: (inner: typeof fetch) => typeof fetch;
  /** The relay's clock (default: the system clock), e.g. one a test moves forward. */
  clock?: Clock;
  /** Serves POST /v1/tokens to whom it vouches for (with config.tokens.issue set). */
  attester?: Attester;
}

export interface TestRelay {
  relay: Relay;
  url: string;
  port: number;
  ports: MemoryPorts | SqlitePorts | RedisPorts;
  /** Everything the relay logged through ports.log. */
  logs: string[];
  /** Remote address of every connection the HTTP server accepted. */
  connections: string[];
  /** Every POST /v1/federation this relay sent, with the peer's answer. */
  batches: WireBatch[];
  /** Every byte string, string and number the relay passed to one of its storage ports. */
  written(): Buffer;
  /**
   * What the relay holds at rest: for memory, the inbox and pool snapshots and the replay set's
   * size; for Redis, every key under its prefix. `canonical` leaves out the metrics and the
   * bookkeeping of the relay's own outbound deliveries.
   */
  state(): Promise<{ blob: Buffer; canonical: string }>;
  /** A counter of this relay's metrics (memory or Redis). */
  counter(name: MetricName, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export function newMasterKey(): SecretBytes {
  return SecretBytes.random(32);
}

/** A fetch that records POST /v1/federation bodies and answers (the link as a peer sees it). */
function recordingHttp(batches: WireBatch[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const url = input instanceof Request ? input.url : input.toString();
    if (new URL(url).pathname !== "/v1/federation" || !(init?.body instanceof Uint8Array)) {
      return response;
    }
    const answer = await response.text();
    batches.push({ url, body: new Uint8Array(init.body), status: response.status, answer });
    return new Response(answer, { status: response.status, headers: response.headers });
  };
}

/** Collects the byte strings, strings and numbers in a port call's arguments. */
function collect(value: unknown, out: Buffer[], depth: number): void {
  if (value instanceof Uint8Array) {
    out.push(Buffer.from(value));
  } else if (typeof value === "string" || typeof value === "number") {
    out.push(Buffer.from(String(value)));
  } else if (value && typeof value === "object" && depth < 6) {
    for (const v of Object.values(value)) collect(v, out, depth + 1);
  }
}

/** A port that reports the arguments of every method call (run on the port itself). */
function spy<T extends object>(port: T, record: (args: unknown[]) => void): T {
  return new Proxy(port, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        record(args);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/**
 * Starts a relay the way src/node.ts does (bind with a placeholder, open the relay with the
 * bound origin, swap in the app, start), keeping the node server to watch its connections.
 */
export async function startRelay(options: RelayOptions): Promise<TestRelay> {
  const logs: string[] = [];
  const connections: string[] = [];
  const batches: WireBatch[] = [];
  const extra = {
    logger: collectingLogger(logs),
    http: (options.wrapHttp ?? ((inner) => inner))(recordingHttp(batches)),
    // The tests close rounds themselves (closeRound), so every batch belongs to a known round.
    rounds: { start: async () => {}, stop: async () => {} },
    blindSigner: nodeBlindSigner(),
    ...(options.clock ? { clock: options.clock } : {}),
  };
  const ports: MemoryPorts | SqlitePorts | RedisPorts =
    options.backend.kind === "memory"
      ? Object.assign(memoryPorts(), extra)
      : options.backend.kind === "sqlite"
        ? Object.assign(sqlitePorts({ dataDir: options.backend.dataDir }), extra)
        : Object.assign(
            redisPorts({
              url: options.backend.url,
              prefix: options.backend.prefix,
              masterKey: options.backend.masterKey,
            }),
            extra,
          );
  const writes: Buffer[] = [];
  const record = (args: unknown[]) => collect(args, writes, 0);
  const spied: RelayPorts = {
    ...ports,
    inboxes: spy(ports.inboxes, record),
    pool: spy(ports.pool, record),
    replay: spy(ports.replay, record),
    keys: spy(ports.keys, record),
    metrics: spy(ports.metrics, record),
    federation: spy(ports.federation, record),
  };
  let handler: (request: Request) => Response | Promise<Response> = () =>
    new Response("starting", { status: 503 });
  const { server, port } = await new Promise<{ server: ServerType; port: number }>(
    (resolve, reject) => {
      const server = serve(
        { fetch: (r: Request) => handler(r), hostname: options.host, port: options.port ?? 0 },
        (info: AddressInfo) => resolve({ server, port: info.port }),
      );
      server.once("error", reject);
    },
  );
  server.on("connection", (socket: Socket) => connections.push(socket.remoteAddress ?? "?"));
  const url = `http://${options.host}:${port}`;
  const node = server as Server;
  const stopServer = async () => {
    const stopped = new Promise<void>((resolve) => node.close(() => resolve()));
    node.closeAllConnections();
    await stopped;
  };
  let relay: Relay;
  try {
    // Rounds are closed by hand here, so clients' hop requests are answered at once unless a
    // test asks for the release at round boundaries (ingress-release.test.ts).
    const federation = { ingressRelease: "immediate" as const, ...options.config?.federation };
    relay = await Relay.open(relayConfig({ ...options.config, federation, origin: url }), spied);
    handler = createRelayApp(relay, options.attester ? { attester: options.attester } : {}).fetch;
    await relay.start();
  } catch (error) {
    await stopServer();
    if ("close" in ports) await ports.close();
    throw error;
  }
  let closed = false;
  return {
    relay,
    url,
    port,
    ports,
    logs,
    connections,
    batches,
    written: () => Buffer.concat(writes),
    async state() {
      if (options.backend.kind === "redis") {
        const { url, prefix } = options.backend;
        const dump = await dumpRedis(url, prefix);
        // Left out: the metrics, and what this relay's own outbound deliveries update in the
        // background (BullMQ's keys, the recently sent claim ids). Held slots stay in.
        const volatile = new RegExp(`^\\{${prefix}:(m|fq)\\}|^\\{${prefix}:f:[0-9a-f]+\\}:r$`);
        return { blob: dump.blob, canonical: canonical(dump, volatile) };
      }
      if (options.backend.kind === "sqlite") {
        // Left out, as on Redis: the relay's own outbound deliveries (recently sent claim ids,
        // batches waiting, dead letters).
        return dumpSqlite((ports as SqlitePorts).path, ["sent", "outbound", "dead"]);
      }
      const memory = ports as MemoryPorts;
      const snapshot =
        memory.inboxes.snapshot() + memory.pool.snapshot() + ` replay:${memory.replay.size()}`;
      return { blob: Buffer.from(snapshot), canonical: snapshot };
    },
    async counter(name, labels) {
      const metrics = ports.metrics;
      if ("flush" in metrics) await metrics.flush();
      return metrics.counter(name, labels);
    },
    async close() {
      if (closed) return;
      closed = true;
      // As src/node.ts: stop taking requests, then stop the relay (which flushes a last round).
      await stopServer();
      await relay.stop();
      if ("close" in ports) await ports.close();
    },
  };
}

/**
 * Every table of a SQLite store: `blob` every value back to back, `canonical` the rows of the
 * tables but `skip`, sorted, as text.
 */
function dumpSqlite(path: string, skip: readonly string[]): { blob: Buffer; canonical: string } {
  const db = new Database(path, { readonly: true });
  try {
    const parts: Buffer[] = [];
    const lines: string[] = [];
    const tables = db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .all();
    for (const { name } of tables) {
      for (const row of db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[]) {
        const values = Object.values(row).map((v) =>
          Buffer.isBuffer(v) ? v : Buffer.from(String(v)),
        );
        parts.push(...values);
        if (!skip.includes(name)) lines.push(`${name} ${values.map((v) => v.toString("hex"))}`);
      }
    }
    return { blob: Buffer.concat(parts), canonical: lines.sort().join("\n") };
  } finally {
    db.close();
  }
}

export interface RedisDump {
  /** key (hex) -> a canonical rendering of its type and contents (hex). */
  entries: Map<string, string>;
  /** Every key name and value byte, back to back, to search for byte strings. */
  blob: Buffer;
}

/** Reads every key under a prefix (BullMQ's included) with its contents. */
export async function dumpRedis(url: string, prefix: string): Promise<RedisDump> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on("error", () => undefined);
  await redis.connect();
  try {
    const entries = new Map<string, string>();
    const parts: Buffer[] = [];
    for (const key of await prefixKeys(redis, prefix)) {
      const { type, values } = await keyValues(redis, key);
      // Hashes and sets come back in no fixed order.
      const ordered = type !== "hash" && type !== "set";
      const rendered = values.map((v) => v.toString("hex"));
      if (!ordered) rendered.sort();
      entries.set(key.toString("hex"), `${type} ${rendered.join(",")}`);
      parts.push(key, ...values);
    }
    return { entries, blob: Buffer.concat(parts) };
  } finally {
    redis.disconnect();
  }
}

/** The dump's entries as one string, leaving out keys whose name matches `skip`. */
export function canonical(dump: RedisDump, skip?: RegExp): string {
  return [...dump.entries]
    .filter(([key]) => !skip?.test(Buffer.from(key, "hex").toString("latin1")))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join("\n");
}

/** The forms a byte string could take at rest: raw, hex, base64 and base64url. */
export function encodings(bytes: Uint8Array): Buffer[] {
  return [
    Buffer.from(bytes),
    Buffer.from(toHex(bytes)),
    Buffer.from(toHex(bytes).toUpperCase()),
    Buffer.from(Buffer.from(bytes).toString("base64")),
    Buffer.from(toBase64Url(bytes)),
  ];
}

/** Whether `haystack` holds any of the `needles`. */
export function containsAny(haystack: Buffer, needles: readonly Buffer[]): boolean {
  return needles.some((needle) => haystack.includes(needle));
}

const DEFAULT_PADDING = new PaddingPolicy();

/**
 * Whether a fetch failed on a pooled keep-alive socket the server had already closed: a relay
 * in this process shares the global fetch's pool, and a relay restarted on the same port leaves
 * such a socket behind until the client side notices.
 */
function staleSocket(error: unknown): boolean {
  const cause =
    error instanceof TypeError ? (error.cause as { code?: string } | undefined) : undefined;
  return cause?.code === "UND_ERR_SOCKET";
}

/** Fetches and verifies a relay's descriptor directly (the test process is no client here). */
export async function descriptorOf(url: string): Promise<Descriptor> {
  const target = new URL("/.well-known/shroud", url);
  const response = await fetch(target).catch((error: unknown) => {
    if (staleSocket(error)) return fetch(target);
    throw error;
  });
  return verifyDescriptor(new Uint8Array(await response.arrayBuffer()), {
    origin: url,
    now: Date.now(),
  });
}

/** Pads and seals a request to the newest usable key of `descriptor`, as a client would. */
export async function sealFor(descriptor: Descriptor, request: RelayRequest) {
  const padding = new PaddingPolicy(descriptor.buckets);
  const [key] = usableKeys(descriptor, Date.now());
  if (!key) throw new Error("descriptor has no usable key");
  const encoded = encode(relayRequestCodec, request);
  const plaintext = padding.pad(encoded, REQUEST_OVERHEAD, request.responseSize);
  return sealRequest(key.config, plaintext);
}

/** The bucket a request of this much content needs (content plus envelope overhead). */
export function bucketFor(contentLength: number, padding = DEFAULT_PADDING): number {
  return padding.bucketFor(contentLength + REQUEST_OVERHEAD + 4);
}

/** A deposit request whose payload opens for the card's inbox (as RelayClient makes one). */
export async function depositRequest(
  card: ContactCard,
  message: Uint8Array,
  padding = DEFAULT_PADDING,
): Promise<RelayRequest> {
  const payload = await sealPayload(card, message, padding, 256);
  const request: RelayRequest = {
    kind: RequestKind.deposit,
    responseSize: 0,
    readId: card.readId,
    writeToken: card.writeToken.expose(),
    messageId: randomBytes(MESSAGE_ID_LENGTH),
    flags: 0,
    payload,
  };
  request.responseSize = bucketFor(encode(relayRequestCodec, request).length, padding);
  return request;
}

/** A forward request that carries `envelope` to `nextHop`, sized to its bucket. */
export function forwardRequest(
  nextHop: string,
  envelope: Uint8Array,
  padding = DEFAULT_PADDING,
): RelayRequest {
  const request: RelayRequest = { kind: RequestKind.forward, responseSize: 0, nextHop, envelope };
  request.responseSize = bucketFor(encode(relayRequestCodec, request).length, padding);
  return request;
}

/**
 * A proxy request that carries `envelope` to `nextHop`, sized to its bucket, with room in the
 * answer for a short body from the next hop.
 */
export function proxyRequest(
  nextHop: string,
  envelope: Uint8Array,
  padding = DEFAULT_PADDING,
): RelayRequest {
  const request: RelayRequest = { kind: RequestKind.proxy, responseSize: 0, nextHop, envelope };
  request.responseSize = bucketFor(encode(relayRequestCodec, request).length, padding);
  return request;
}

/** Seals `request` to the relay at `url` (its descriptor given), POSTs it and opens the answer. */
export async function postSealed(
  url: string,
  descriptor: Descriptor,
  request: RelayRequest,
): Promise<RelayResponse> {
  const { sealed, keying } = await sealFor(descriptor, request);
  const response = await fetch(new URL("/v1/relay", url), {
    method: "POST",
    headers: { "content-type": MediaTypes.request },
    body: sealed,
  });
  if (response.status !== 200) throw new Error(`relay answered HTTP ${response.status}`);
  const padded = await openResponse(keying, new Uint8Array(await response.arrayBuffer()));
  const padding = new PaddingPolicy(descriptor.buckets);
  return decode(relayResponseCodec, padding.unpad(padded), padding.largest);
}

/** The origin a batch claims to come from, as a sender names itself; none if it has none. */
function claimedSender(body: Uint8Array): Record<string, string> {
  try {
    return { [BATCH_SENDER_HEADER]: batchOrigin(body, body.length + 1) };
  } catch {
    return {};
  }
}

/**
 * POSTs raw bytes to /v1/federation, naming the sender the batch claims (`sender` overrides);
 * returns the status and the text answer.
 */
export async function postBatch(
  url: string,
  body: Uint8Array,
  /** null: no content-type header at all. */
  contentType: string | null = MediaTypes.federationBatch,
  sender?: string,
): Promise<{ status: number; answer: string }> {
  const response = await fetch(new URL("/v1/federation", url), {
    method: "POST",
    headers: {
      ...(contentType === null ? {} : { "content-type": contentType }),
      ...(sender === undefined ? claimedSender(body) : { [BATCH_SENDER_HEADER]: sender }),
    },
    body: new Uint8Array(body),
  });
  return { status: response.status, answer: await response.text() };
}

/**
 * POSTs an oversize body to /v1/federation the way a sender that does not stop would, and
 * returns the status of the early answer. With `announce` the Content-Length gives the size
 * away and only a first chunk is sent; without it the body is streamed chunked until the relay
 * answers. The sender named is the one the batch claims, or `sender`.
 */
export function postOversize(
  url: string,
  body: Uint8Array,
  announce: boolean,
  sender?: string,
): Promise<number> {
  return postInChunks(new URL("/v1/federation", url), body, {
    headers: {
      "content-type": MediaTypes.federationBatch,
      ...(sender === undefined ? claimedSender(body) : { [BATCH_SENDER_HEADER]: sender }),
    },
    announce,
    firstChunkOnly: announce,
  });
}
