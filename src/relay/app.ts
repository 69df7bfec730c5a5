/**
 * The relay's HTTP surface (Hono): POST /v1/relay, POST /v1/federation (batches from peers),
 * GET /.well-known/shroud, GET /.well-known/ohttp-keys, GET /healthz.
 * Works on any runtime Hono supports; no Node APIs here.
 */
import { Hono } from "hono";
import { onArrayBuffer } from "../protocol/bytes.js";
import { encode } from "../protocol/codec.js";
import { AttestationError, MediaTypeError } from "./errors.js";
import type { Attester } from "./attester.js";
import { MAX_TOKEN_BATCH_BYTES } from "../protocol/private-token.js";
import { keyConfigListCodec } from "../protocol/key-config.js";
import { MediaTypes } from "../protocol/labels.js";
import { corsMiddleware } from "./cors.js";
import { admitBatch, checkBatchSender } from "./federation.js";
import { httpFailureFor } from "./http-errors.js";
import { MetricName } from "./ports/metrics.js";
import { declaredLength, readRequestBody, type BodyReader } from "./read-limited.js";
import type { Relay } from "./relay.js";
import { randomBelow } from "./shuffle.js";

function failure(error: unknown, relay: Relay): Response {
  const { status, body } = httpFailureFor(error);
  relay.ports.metrics.count(MetricName.envelopeErrors, { status: String(status) });
  return new Response(body, { status, headers: { "content-type": "text/plain" } });
}

/** The endpoints a client (and so a web page) uses; federation and operator routes are not. */
const CLIENT_PATHS = ["/.well-known/shroud", "/.well-known/ohttp-keys", "/v1/relay"];

/** How createRelayApp serves, beyond the relay itself. */
export interface RelayAppOptions {
  /**
   * Reads POST bodies (default: from the web Request, on any runtime). The Node entry reads the
   * raw request instead, into one buffer, skipping the web stream in between.
   */
  readBody?: BodyReader;
  /** Who may get Privacy Pass tokens (POST /v1/tokens); without one, the route is not served. */
  attester?: Attester;
  /** The client's address as a limit key, for an address attester (the Node entry knows it). */
  clientAddress?: (request: Request, env: unknown) => string | undefined;
}

/**
 * @example
 * const app = createRelayApp(relay);
 * serve({ fetch: app.fetch, port: 8787 }); // @hono/node-server
 */
export function createRelayApp(relay: Relay, options: RelayAppOptions = {}): Hono {
  const readBody = options.readBody ?? readRequestBody;
  const app = new Hono();

  // Before the routes, so that preflights, answers and refusals alike carry the headers.
  const cors = corsMiddleware(relay.config.cors);
  if (cors) for (const path of CLIENT_PATHS) app.use(path, cors);

  app.get("/healthz", (c) => c.text("ok"));

  // A randomised lifetime keeps clients from refreshing in lockstep, which would link them.
  const cacheControl = () => {
    const { min, max } = relay.config.descriptorMaxAge;
    return `public, max-age=${min + randomBelow(max - min + 1)}`;
  };

  app.get("/.well-known/shroud", async (c) => {
    const bytes = await relay.descriptor();
    return c.body(new Uint8Array(bytes), 200, {
      "content-type": MediaTypes.descriptor,
      "cache-control": cacheControl(),
    });
  });

  // The bare RFC 9458 key list, for tooling that speaks OHTTP key configs; unsigned, so
  // clients use the signed descriptor instead.
  app.get("/.well-known/ohttp-keys", (c) => {
    const configs = relay.keyRing.published(relay.ports.clock.now(), 0).map((k) => k.config);
    return c.body(new Uint8Array(encode(keyConfigListCodec, configs)), 200, {
      "content-type": MediaTypes.ohttpKeys,
      "cache-control": cacheControl(),
    });
  });

  /** A POST of one binary body: size limit before reading, media type, one error mapping. */
  const binaryPost = (
    path: string,
    maxSize: number,
    mediaType: string,
    handle: (body: Uint8Array, headers: Headers) => Promise<Response>,
  ) =>
    app.post(path, async (c) => {
      try {
        // Both refusals come from the headers, before a byte of the body is read.
        declaredLength(c.req.header("content-length"), maxSize);
        const type = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase();
        if (type !== mediaType) throw new MediaTypeError();
        return await handle(await readBody(c.req.raw, c.env, maxSize), c.req.raw.headers);
      } catch (error) {
        return failure(error, relay);
      }
    });

  binaryPost("/v1/relay", relay.config.padding.largest, MediaTypes.request, async (body) => {
    const answer = await relay.handleSealed(body);
    return new Response(onArrayBuffer(answer), {
      status: 200,
      headers: { "content-type": MediaTypes.response, "cache-control": "no-store" },
    });
  });

  // Refused from the headers before a byte of the body is read: federation off, a declared
  // length beyond any batch, no sender named or one the policy does not allow.
  app.post("/v1/federation", async (c, next) => {
    try {
      admitBatch(relay.config.federation, c.req.raw.headers);
    } catch (error) {
      return failure(error, relay);
    }
    await next();
  });

  binaryPost(
    "/v1/federation",
    relay.config.federation.maxBatchBytes,
    MediaTypes.federationBatch,
    async (body, headers) => {
      const { federation } = relay.config;
      checkBatchSender(body, admitBatch(federation, headers), federation.maxBatchBytes);
      return new Response(await relay.receiveBatch(body), {
        status: 200,
        headers: { "content-type": "text/plain; charset=UTF-8" },
      });
    },
  );

  const { attester } = options;
  const issuer = relay.tokenIssuer;
  if (attester && issuer) {
    // The attester looks at the headers (and the address) alone; a client it does not vouch
    // for is refused before a byte of the body is read.
    const attested = new WeakMap<Headers, string>();
    app.post("/v1/tokens", async (c, next) => {
      const client = attester.attest(c.req.raw, options.clientAddress?.(c.req.raw, c.env));
      if (client === undefined) return failure(new AttestationError(), relay);
      attested.set(c.req.raw.headers, client);
      await next();
    });
    binaryPost(
      "/v1/tokens",
      MAX_TOKEN_BATCH_BYTES,
      MediaTypes.tokenRequest,
      async (body, headers) => {
        const answer = await issuer.issue(body, attested.get(headers)!);
        return new Response(onArrayBuffer(answer), {
          status: 200,
          headers: { "content-type": MediaTypes.tokenResponse, "cache-control": "no-store" },
        });
      },
    );
  }

  app.notFound(() => new Response("not found", { status: 404 }));
  app.onError((error) => failure(error, relay));
  return app;
}
