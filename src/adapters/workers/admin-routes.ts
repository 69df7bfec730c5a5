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
import type { SecretBytes } from "../../protocol/secret-bytes.js";
import { bearerTokenMatches } from "../../relay/bearer-token.js";
import type { WorkersPorts } from "./ports/workers-ports.js";

const ID = /^[0-9a-f]{32}$/;

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
