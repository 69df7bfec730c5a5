/**
 * Real HTTP servers on loopback standing in for peer relays that this test does not need to run
 * in full: each serves a validly signed descriptor for its own origin and answers
 * POST /v1/federation (and POST /v1/relay) as the test says, recording what it got. Many of them
 * are cheap, so a relay can be made to federate with hundreds of distinct origins.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { signDescriptor } from "../../src/protocol/descriptor.js";
import { PaddingPolicy } from "../../src/protocol/padding-policy.js";
import { generateKeyRing, KeyRing } from "../../src/relay/key-ring.js";

export interface StandInOptions {
  /** HTTP status for POST /v1/federation (default 200, "accepted"). */
  batchStatus?: number;
  /** What GET /.well-known/shroud does: serve the descriptor, answer 404, or never answer. */
  descriptor?: "serve" | "missing" | "stall";
  /**
   * What POST /v1/relay does: answer 200 with a short body; "echo": answer 200 with the
   * SHA-256 of the request body, so each requester can tell its own answer; or drip bytes and
   * never finish.
   */
  relay?: "answer" | "echo" | "drip";
  /** How long POST /v1/relay waits, once the body is read, before it answers (ms, default 0). */
  relayDelayMs?: number;
}

/** A POST /v1/relay a stand-in received: its body, and when it had all of it (Date.now()). */
export interface RelayArrival {
  body: Uint8Array;
  at: number;
}

export interface StandIn {
  url: string;
  /** Bodies of the POST /v1/federation requests received, in order. */
  batches: Uint8Array[];
  /** How many of them were answered 200 (acknowledged). */
  acknowledged: number;
  /** GET /.well-known/shroud requests received. */
  descriptorRequests: number;
  /** POST /v1/relay requests received, in the order their bodies were complete. */
  relayRequests: RelayArrival[];
  /** Requests being handled right now (a stalled one stays until its client gives up). */
  open: number;
  /** Most requests open at the same time. */
  maxOpen: number;
}

export interface StandIns {
  peers: StandIn[];
  /** Changes the HTTP status every stand-in answers batches with from now on. */
  setBatchStatus(status: number): void;
  close(): Promise<void>;
}

function readBody(request: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(new Uint8Array(Buffer.concat(chunks))));
    request.on("error", reject);
  });
}

/**
 * Starts `count` stand-in peers on 127.0.0.1, each on its own port (so each its own origin),
 * sharing one signing key and one HPKE key.
 *
 * @example const { peers, close } = await startStandIns(200);
 */
export async function startStandIns(
  count: number,
  options: StandInOptions = {},
): Promise<StandIns> {
  const ring = await KeyRing.load(await generateKeyRing(Date.now()));
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setInterval>>();
  const peers: StandIn[] = [];
  let batchStatus = options.batchStatus ?? 200;
  for (let i = 0; i < count; i++) {
    const peer: StandIn = {
      url: "",
      batches: [],
      acknowledged: 0,
      descriptorRequests: 0,
      relayRequests: [],
      open: 0,
      maxOpen: 0,
    };
    const handle = async (request: IncomingMessage, response: ServerResponse) => {
      peer.open += 1;
      peer.maxOpen = Math.max(peer.maxOpen, peer.open);
      response.on("close", () => (peer.open -= 1));
      const path = new URL(request.url ?? "/", peer.url).pathname;
      if (request.method === "GET" && path === "/.well-known/shroud") {
        peer.descriptorRequests += 1;
        const mode = options.descriptor ?? "serve";
        if (mode === "stall") return;
        if (mode === "missing") return void response.writeHead(404).end("not found");
        const now = Math.floor(Date.now() / 1000);
        const bytes = await signDescriptor(
          {
            origin: peer.url,
            signingKey: ring.stored.signing.publicKey,
            keys: ring.published(Date.now(), now + 3600),
            buckets: [...new PaddingPolicy().buckets],
            roundIntervalMs: 1000,
            issuedAt: now,
            expiresAt: now + 3600,
          },
          ring.signingKey,
        );
        response.writeHead(200, { "content-type": "application/shroud-descriptor" });
        return void response.end(Buffer.from(bytes));
      }
      if (request.method === "POST" && path === "/v1/federation") {
        peer.batches.push(await readBody(request));
        const status = batchStatus;
        if (status === 200) peer.acknowledged += 1;
        return void response.writeHead(status).end(status === 200 ? "accepted" : "unavailable");
      }
      if (request.method === "POST" && path === "/v1/relay") {
        const body = await readBody(request);
        peer.relayRequests.push({ body, at: Date.now() });
        const mode = options.relay ?? "answer";
        if (mode !== "drip" && options.relayDelayMs) {
          await new Promise((resolve) => setTimeout(resolve, options.relayDelayMs));
        }
        if (mode === "answer") return void response.writeHead(200).end(Buffer.alloc(64));
        if (mode === "echo") {
          return void response.writeHead(200).end(createHash("sha256").update(body).digest());
        }
        response.writeHead(200, { "content-type": "application/ohttp-res" });
        const timer = setInterval(() => response.write(Buffer.alloc(1)), 100);
        timers.add(timer);
        response.on("close", () => {
          clearInterval(timer);
          timers.delete(timer);
        });
        return;
      }
      response.writeHead(404).end("not found");
    };
    const server = createServer((request, response) => void handle(request, response));
    server.on("connection", (socket: Socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    peer.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    servers.push(server);
    peers.push(peer);
  }
  return {
    peers,
    setBatchStatus(status) {
      batchStatus = status;
    },
    async close() {
      for (const timer of timers) clearInterval(timer);
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };
}
