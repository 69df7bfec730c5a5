/** The Worker's operator routes: bearer token checked, opaque refusals, dead letters. */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

const TOKEN = "workers-test-admin-token"; // vitest.config.ts gives the Worker this secret
const get = (path: string, token?: string, method = "GET") =>
  SELF.fetch(new URL(path, "http://127.0.0.1:8788"), {
    method,
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });

describe("admin routes", () => {
  it("refuses requests without the token, or with another", async () => {
    for (const token of [undefined, "", "workers-test-admin-tokeN", `${TOKEN}x`]) {
      const response = await get("/v1/admin/metrics", token);
      expect(response.status).toBe(401);
      expect(await response.text()).toBe("unauthorized");
    }
    expect((await get("/v1/admin/dead-letters/00/replay", undefined, "POST")).status).toBe(401);
  });

  it("serves aggregate metrics and the dead letters", async () => {
    await get("/healthz");
    const metrics = await get("/v1/admin/metrics", TOKEN);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
    const dead = await get("/v1/admin/dead-letters", TOKEN);
    expect(dead.status).toBe(200);
    expect(await dead.json()).toEqual([]);
    const unknown = "0123456789abcdef0123456789abcdef";
    expect((await get(`/v1/admin/dead-letters/${unknown}/replay`, TOKEN, "POST")).status).toBe(404);
    expect((await get(`/v1/admin/dead-letters/${unknown}`, TOKEN, "DELETE")).status).toBe(404);
    expect((await get("/v1/admin/dead-letters/not-an-id", TOKEN, "DELETE")).status).toBe(404);
  });
});
