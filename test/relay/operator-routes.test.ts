/**
 * /readyz and /metrics on a relay's app: readiness names the failing parts (a hung check counts
 * as failed within the deadline), metrics answer only with the bearer token when one is set.
 */
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { utf8 } from "../../src/protocol/bytes.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { addOperatorRoutes, READINESS_TIMEOUT_MS } from "../../src/relay/operator-routes.js";

const ok = async () => undefined;
const down = async () => {
  throw new Error("ECONNREFUSED");
};

describe("operator routes", () => {
  it("/readyz is 200 when every part is ready and 503 naming the ones that are not", async () => {
    const ready = addOperatorRoutes(new Hono(), {
      readiness: [
        { name: "store", check: ok },
        { name: "keys", check: ok },
      ],
    });
    const yes = await ready.request("/readyz");
    expect([yes.status, await yes.text()]).toEqual([200, "ready\n"]);
    expect(yes.headers.get("cache-control")).toBe("no-store");

    const hung = () => new Promise<void>(() => undefined);
    const notReady = addOperatorRoutes(new Hono(), {
      readiness: [
        { name: "store", check: down },
        { name: "keys", check: ok },
        { name: "queue", check: hung },
      ],
    });
    const started = Date.now();
    const no = await notReady.request("/readyz");
    expect([no.status, await no.text()]).toEqual([503, "not ready: store, queue\n"]);
    expect(Date.now() - started).toBeLessThan(READINESS_TIMEOUT_MS + 2000);
  });

  it("has no /metrics unless asked for", async () => {
    const app = addOperatorRoutes(new Hono(), { readiness: [] });
    expect((await app.request("/metrics")).status).toBe(404);
  });

  it("/metrics renders Prometheus text, behind the bearer token when one is set", async () => {
    const render = () => "shroud_requests_total 3\n";
    const open = addOperatorRoutes(new Hono(), { readiness: [], metrics: { render } });
    const plain = await open.request("/metrics");
    expect([plain.status, await plain.text()]).toEqual([200, "shroud_requests_total 3\n"]);
    expect(plain.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);

    const token = new SecretBytes(utf8("s3cret-token"));
    const guarded = addOperatorRoutes(new Hono(), { readiness: [], metrics: { render, token } });
    for (const authorization of [undefined, "Bearer wrong", "s3cret-token", "Bearer s3cret-toke"]) {
      const denied = await guarded.request("/metrics", {
        headers: authorization ? { authorization } : {},
      });
      expect(denied.status, String(authorization)).toBe(401);
      expect(await denied.text()).toBe("unauthorized\n");
    }
    const allowed = await guarded.request("/metrics", {
      headers: { authorization: "Bearer s3cret-token" },
    });
    expect([allowed.status, await allowed.text()]).toEqual([200, "shroud_requests_total 3\n"]);
  });
});
