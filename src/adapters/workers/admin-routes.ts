/**
 * Operator routes of a Worker relay, which has no shell to run `shroud federation` in:
 * metrics and the federation dead letters, behind a bearer token (the SHROUD_ADMIN_TOKEN
 * secret, compared in constant time through SHA-256 digests). Without the secret they do not exist (404).
 *
 *   GET    /v1/admin/metrics                    Prometheus text
 *   GET    /v1/admin/dead-letters               JSON [{ id, peer, attempts, bytes }]
 *   POST   /v1/admin/dead-letters/:id/replay    204, or 404 if there is no such id
 *   DELETE /v1/admin/dead-letters/:id           204, or 404
 */
import type { Hono } from "hono";
import { constantTimeEqual, utf8 } from "../../protocol/bytes.js";
import type { SecretBytes } from "../../protocol/secret-bytes.js";
import type { WorkersPorts } from "./workers-ports.js";

const ID = /^[0-9a-f]{32}$/;

async function sha256(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(bytes)));
}

/**
 * Whether an Authorization header carries `Bearer <token>`. Both sides are hashed first and the
 * digests compared in constant time, so neither the token's length nor how much of it a guess
 * got right shows in the time taken (a length check before comparing would tell the length).
 *
 * @example await bearerTokenMatches(request.headers.get("authorization") ?? undefined, token)
 */
export async function bearerTokenMatches(
  header: string | undefined,
  token: SecretBytes,
): Promise<boolean> {
  const given = /^Bearer (.+)$/.exec(header ?? "")?.[1];
  // A missing or malformed header is hashed too (as nothing), so it takes the same path.
  const [givenDigest, tokenDigest] = await Promise.all([
    sha256(utf8(given ?? "")),
    sha256(token.expose()),
  ]);
  return constantTimeEqual(givenDigest, tokenDigest) && given !== undefined;
}

/**
 * @example addAdminRoutes(createRelayApp(relay), ports, config.adminToken);
 */
export function addAdminRoutes(
  app: Hono,
  ports: WorkersPorts,
  token: SecretBytes | undefined,
): Hono {
  if (!token) return app;
  const denied = () =>
    new Response("unauthorized", {
      status: 401,
      headers: { "content-type": "text/plain", "www-authenticate": "Bearer" },
    });
  const gone = () => new Response("not found", { status: 404 });

  app.use("/v1/admin/*", async (c, next) => {
    if (!(await bearerTokenMatches(c.req.header("authorization"), token))) return denied();
    await next();
  });
  app.get(
    "/v1/admin/metrics",
    async () =>
      new Response(await ports.metrics.render(), {
        headers: { "content-type": "text/plain; version=0.0.4", "cache-control": "no-store" },
      }),
  );
  app.get("/v1/admin/dead-letters", async (c) =>
    c.json(
      (await ports.federation.deadLetters()).map((d) => ({
        id: d.id,
        peer: d.peer,
        attempts: d.attempts,
        bytes: d.batch.length,
      })),
    ),
  );
  app.post("/v1/admin/dead-letters/:id/replay", async (c) => {
    const id = c.req.param("id");
    return ID.test(id) && (await ports.federation.replay(id)) ? c.body(null, 204) : gone();
  });
  app.delete("/v1/admin/dead-letters/:id", async (c) => {
    const id = c.req.param("id");
    return ID.test(id) && (await ports.federation.drop(id)) ? c.body(null, 204) : gone();
  });
  return app;
}
