/**
 * The floor of http.deposit.redis: a server that does only what no relay can skip. It opens
 * each sealed request and seals a same-size "accepted" answer, on the stack `shroud serve` runs
 * (Hono on @hono/node-server, the Node entry's body reader, node:crypto HPKE), with no relay
 * logic and no storage. It publishes a real signed descriptor so the load client seals to it as
 * to a relay. Run as its own process:
 *   node dist/bench-run/bench/http/floor-server.js
 * It prints `floor listening on URL` and serves until SIGTERM.
 */
import { serve } from "@hono/node-server";
import type { AddressInfo } from "node:net";
import { Hono } from "hono";
import { memoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { MemoryKeyStore } from "../../src/adapters/memory/memory-key-store.js";
import { readNodeBody } from "../../src/adapters/node/incoming-body.js";
import { useNodeHpke } from "../../src/adapters/node/node-hpke-primitives.js";
import { onArrayBuffer } from "../../src/protocol/bytes.js";
import { encode } from "../../src/protocol/codec.js";
import {
  openRequest,
  requestKeyId,
  responseOverhead,
  sealResponse,
} from "../../src/protocol/envelope.js";
import { MediaTypes } from "../../src/protocol/labels.js";
import { RequestKind } from "../../src/protocol/relay-request.js";
import { relayResponseCodec } from "../../src/protocol/relay-response.js";
import { RelayStatus } from "../../src/protocol/relay-status.js";
import { relayConfig } from "../../src/relay/relay-config.js";
import { Relay } from "../../src/relay/relay.js";

useNodeHpke();

const ACCEPTED = encode(relayResponseCodec, {
  status: RelayStatus.accepted,
  kind: RequestKind.deposit,
  duplicate: false,
});

let handle: (request: Request, env: unknown) => Response | Promise<Response> = () =>
  new Response("starting", { status: 503 });
const server = serve(
  { fetch: (request, env) => handle(request, env), port: 0 },
  (info) => void start(`http://127.0.0.1:${(info as AddressInfo).port}`),
);

async function start(url: string): Promise<void> {
  // A relay on the in-memory store only for its key ring and signed descriptor; it never
  // handles a request here.
  const relay = await Relay.open(
    relayConfig({ origin: url }),
    memoryPorts({ keys: new MemoryKeyStore() }),
  );
  const { padding } = relay.config;
  const app = new Hono();
  app.get("/.well-known/shroud", async (c) =>
    c.body(new Uint8Array(await relay.descriptor()), 200, {
      "content-type": MediaTypes.descriptor,
    }),
  );
  app.post("/v1/relay", async (c) => {
    const body = await readNodeBody(c.req.raw, c.env, padding.largest);
    const keyId = requestKeyId(body);
    const key = relay.keyRing.lookup(keyId, Date.now());
    const opened = await openRequest((id) => (id === keyId ? key : undefined), body);
    const plaintext = padding.pad(ACCEPTED, responseOverhead(opened.keying.suite), body.length);
    return new Response(onArrayBuffer(await sealResponse(opened.keying, plaintext)), {
      headers: { "content-type": MediaTypes.response, "cache-control": "no-store" },
    });
  });
  handle = app.fetch;
  console.log(`floor listening on ${url}`);
}

process.once("SIGTERM", () => {
  server.close(() => process.exit(0));
  (server as unknown as { closeAllConnections(): void }).closeAllConnections();
});
