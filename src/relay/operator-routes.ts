/**
 * Operator routes of a relay process: `GET /readyz` (is this relay able to serve: store
 * reachable, keys loaded, federation queue alive) beside the liveness check `/healthz`, and
 * `GET /metrics` in Prometheus text when switched on, behind a bearer token when one is set.
 * Neither says anything about a client: readiness names only parts that failed, metrics are
 * aggregate counters and histograms.
 */
import type { Hono } from "hono";
import type { SecretBytes } from "../protocol/secret-bytes.js";
import { bearerTokenMatches } from "./bearer-token.js";

/** A part of the relay that can be unready; its name is what /readyz reports. */
export interface ReadinessCheck {
  name: string;
  /** Resolves when the part works; rejects (or exceeds the deadline) when it does not. */
  check: () => Promise<void>;
}

export interface OperatorRoutes {
  /** What /readyz checks, each within READINESS_TIMEOUT_MS. */
  readiness: readonly ReadinessCheck[];
  /** GET /metrics when given; without `token`, anyone who reaches the port may read it. */
  metrics?: { render: () => string | Promise<string>; token?: SecretBytes };
}

/** A check that takes longer than this counts as failed (a hung store must not hang probes). */
export const READINESS_TIMEOUT_MS = 2000;

async function passes(check: ReadinessCheck): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("timeout")), READINESS_TIMEOUT_MS);
  });
  try {
    await Promise.race([check.check(), deadline]);
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Adds /readyz and (if configured) /metrics to a relay's app.
 *
 * @example
 * addOperatorRoutes(createRelayApp(relay), {
 *   readiness: [{ name: "store", check: () => redis.ping().then(() => undefined) }],
 *   metrics: { render: () => metrics.render(), token },
 * });
 */
export function addOperatorRoutes(app: Hono, routes: OperatorRoutes): Hono {
  // A fresh object per answer: @hono/node-server writes content-length into the headers a
  // Response was made with, so a shared one would cut every later body to the first's length.
  const text = () => ({ "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" });
  app.get("/readyz", async () => {
    const results = await Promise.all(routes.readiness.map(passes));
    const failed = routes.readiness.filter((_, i) => !results[i]).map((c) => c.name);
    return failed.length === 0
      ? new Response("ready\n", { headers: text() })
      : new Response(`not ready: ${failed.join(", ")}\n`, { status: 503, headers: text() });
  });
  const metrics = routes.metrics;
  if (metrics) {
    app.get("/metrics", async (c) => {
      if (
        metrics.token &&
        !(await bearerTokenMatches(c.req.header("authorization"), metrics.token))
      ) {
        return new Response("unauthorized\n", {
          status: 401,
          headers: { ...text(), "www-authenticate": "Bearer" },
        });
      }
      return new Response(await metrics.render(), {
        headers: { ...text(), "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    });
  }
  return app;
}
