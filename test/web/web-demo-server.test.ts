/**
 * The web demo's server without a browser: what it serves, whom it refuses, the card board's
 * limits, and `shroud demo --web` refusing to start without a built page.
 */
import { request } from "node:http";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CliError, type CliIo } from "../../src/cli/cli-support.js";
import { demoCommand } from "../../src/cli/demo-command.js";
import { startWebDemo, type WebDemo } from "../../src/demo/web/web-demo.js";
import { verifyDescriptor } from "../../src/protocol/descriptor.js";

/** The page's API as it stands (src/demo/web/page/web-api.ts), written out so a change shows. */
const ApiPaths = {
  setup: "/api/setup",
  descriptor: "/api/descriptor",
  cards: "/api/cards",
} as const;
const MAX_CARD_BYTES = 64 * 1024;

const ASSETS = { html: "<!doctype html><p>page</p>", css: "p {}", script: "void 0;" };

/** A GET with a Host header of our choosing (fetch always sends the URL's). */
function getWithHost(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });
}

/** A PUT whose body comes in chunks, with no declared length. */
function putChunked(url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "PUT" }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.write(body);
    req.end();
  });
}

describe("the web demo's server", () => {
  let demo: WebDemo;
  let origin: string;

  beforeAll(async () => {
    demo = await startWebDemo({ assets: ASSETS });
    origin = new URL(demo.url).origin;
  }, 60_000);

  afterAll(async () => {
    await demo?.close();
  });

  it("serves the page under a policy that lets it reach only itself and the two relays", async () => {
    const page = await fetch(demo.url);
    expect(await page.text()).toBe(ASSETS.html);
    const csp = page.headers.get("content-security-policy")!;
    expect(csp).toContain(`connect-src 'self' ${demo.relays.a.url} ${demo.relays.b.url};`);
    expect(csp).toContain("default-src 'none'");
    expect(await (await fetch(`${origin}/app.js`)).text()).toBe(ASSETS.script);
    expect(demo.people.map((p) => p.url)).toEqual(
      ["alice", "bob", "carol"].map((name) => `${origin}/?as=${name}`),
    );
    const setup = (await (await fetch(`${origin}${ApiPaths.setup}`)).json()) as {
      relays: unknown;
    };
    expect(setup.relays).toEqual([
      { label: "A", url: demo.relays.a.url },
      { label: "B", url: demo.relays.b.url },
    ]);
  });

  it("hands out each relay's own signed descriptor", async () => {
    for (const relay of [demo.relays.a, demo.relays.b]) {
      const response = await fetch(`${origin}${ApiPaths.descriptor}/${relay.label}`);
      const bytes = new Uint8Array(await response.arrayBuffer());
      const descriptor = await verifyDescriptor(bytes, { origin: relay.url, now: Date.now() });
      expect(descriptor.origin).toBe(relay.url);
    }
    expect((await fetch(`${origin}${ApiPaths.descriptor}/C`)).status).toBe(404);
  });

  it("keeps a card per person of the cast, and only theirs", async () => {
    const put = (name: string, body: string, headers: Record<string, string> = {}) =>
      fetch(`${origin}${ApiPaths.cards}/${name}`, { method: "PUT", body, headers });
    expect((await put("bob", '{"card":1}')).status).toBe(200);
    expect(await (await fetch(`${origin}${ApiPaths.cards}/bob`)).text()).toBe('{"card":1}');
    expect(await (await fetch(`${origin}${ApiPaths.cards}`)).json()).toEqual(["bob"]);
    expect((await fetch(`${origin}${ApiPaths.cards}/carol`)).status).toBe(404);
    expect((await put("mallory", "{}")).status).toBe(400);
    expect((await put("carol", "x".repeat(MAX_CARD_BYTES + 1))).status).toBe(413);
    expect((await put("carol", "{}", { origin: "https://elsewhere.example" })).status).toBe(403);
    expect(await putChunked(`${origin}${ApiPaths.cards}/carol`, "{}")).toBe(411);
    expect(await (await fetch(`${origin}${ApiPaths.cards}`)).json()).toEqual(["bob"]);
  });

  it("answers only requests addressed to its own origin (no DNS rebinding)", async () => {
    expect(await getWithHost(demo.url, new URL(origin).host)).toBe(200);
    expect(await getWithHost(demo.url, `rebound.example:${new URL(origin).port}`)).toBe(421);
  });
});

describe("shroud demo --web", () => {
  it("says how to build the page when it is not built (run from source, it never is)", async () => {
    const io: CliIo = {
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      stdin: new PassThrough(),
      env: {},
    };
    await expect(demoCommand(["--web"], io)).rejects.toThrow(CliError);
    await expect(demoCommand(["--web"], io)).rejects.toThrow(/not built .*npm run build/);
  });
});
