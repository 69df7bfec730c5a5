/**
 * CORS on the client endpoints, so a web page can use a relay: preflights, answers and refusals
 * carry the headers; federation does not; configured origins are honoured; no credentials.
 */
import { afterEach, describe, expect, it } from "vitest";
import { MediaTypes } from "../../src/protocol/labels.js";
import { ConfigError } from "../../src/protocol/errors.js";
import { PREFLIGHT_MAX_AGE } from "../../src/relay/cors.js";
import { relayConfig } from "../../src/relay/relay-config.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { serveConfig } from "../../src/cli/serve-command.js";
import { UsageError } from "../../src/cli/cli-support.js";

let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

const PAGE = "https://app.example";

function preflight(url: string, origin = PAGE) {
  return fetch(url, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type",
    },
  });
}

function post(
  url: string,
  origin = PAGE,
  type: string = MediaTypes.request,
  body?: Uint8Array<ArrayBuffer>,
) {
  return fetch(url, {
    method: "POST",
    headers: { origin, "content-type": type },
    body: body ?? new Uint8Array(1024),
  });
}

/** A bucket-sized body whose key id the relay does not hold (its ids are random, 0 included). */
function unheldKeyBody(running: TestRelay): Uint8Array<ArrayBuffer> {
  const held = running.relay.keyRing.stored.hpke.map((k) => k.keyId);
  const body = new Uint8Array(1024);
  body[0] = [...Array(256).keys()].find((id) => !held.includes(id))!;
  return body;
}

describe("CORS", () => {
  it("lets any origin use the client endpoints by default, without credentials", async () => {
    relay = await startTestRelay();
    const pre = await preflight(`${relay.url}/v1/relay`);
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    expect(pre.headers.get("access-control-allow-methods")).toContain("POST");
    expect(pre.headers.get("access-control-allow-headers")?.toLowerCase()).toContain(
      "content-type",
    );
    expect(pre.headers.get("access-control-max-age")).toBe(String(PREFLIGHT_MAX_AGE));
    expect(pre.headers.get("access-control-allow-credentials")).toBeNull();

    // An envelope for a key the relay does not hold is refused (422, "refresh the descriptor"),
    // and the page can read that, or it could not recover.
    const refused = await post(
      `${relay.url}/v1/relay`,
      PAGE,
      MediaTypes.request,
      unheldKeyBody(relay),
    );
    expect(refused.status).toBe(422);
    expect(refused.headers.get("access-control-allow-origin")).toBe("*");
    const wrongType = await post(`${relay.url}/v1/relay`, PAGE, "text/plain");
    expect(wrongType.status).toBe(415);
    expect(wrongType.headers.get("access-control-allow-origin")).toBe("*");

    for (const path of ["/.well-known/shroud", "/.well-known/ohttp-keys"]) {
      const answer = await fetch(`${relay.url}${path}`, { headers: { origin: PAGE } });
      expect(answer.status).toBe(200);
      expect(answer.headers.get("access-control-allow-origin")).toBe("*");
    }
  });

  it("gives federation and other routes no CORS headers", async () => {
    relay = await startTestRelay();
    for (const path of ["/v1/federation", "/healthz"]) {
      const pre = await preflight(`${relay.url}${path}`);
      expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    }
    const batch = await post(`${relay.url}/v1/federation`, PAGE, MediaTypes.federationBatch);
    expect(batch.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("answers only the configured origins when given a list", async () => {
    relay = await startTestRelay({ cors: { origins: [PAGE] } });
    const allowed = await preflight(`${relay.url}/v1/relay`);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(PAGE);
    expect(allowed.headers.get("vary")?.toLowerCase()).toContain("origin");
    const other = await preflight(`${relay.url}/v1/relay`, "https://elsewhere.example");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const answer = await post(`${relay.url}/v1/relay`, "https://elsewhere.example");
    expect(answer.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("sends no CORS headers at all when the list is empty", async () => {
    relay = await startTestRelay({ cors: { origins: [] } });
    const pre = await preflight(`${relay.url}/v1/relay`);
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    const answer = await fetch(`${relay.url}/.well-known/shroud`, { headers: { origin: PAGE } });
    expect(answer.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("refuses origins that are not origins", () => {
    const origin = "http://127.0.0.1:8787";
    for (const bad of [
      "app.example",
      "https://app.example/",
      "https://app.example/path",
      "ftp://x.example",
    ]) {
      expect(() => relayConfig({ origin, cors: { origins: [bad] } })).toThrow(ConfigError);
    }
    expect(relayConfig({ origin, cors: { origins: [PAGE] } }).cors.origins).toEqual([PAGE]);
  });

  it("reads the origins from serve's flag or variable ", () => {
    const two = "https://a.example, https://b.example";
    const fromFlag = serveConfig(["--cors-origins", two], {});
    expect(fromFlag !== "help" && fromFlag.cors).toEqual({
      origins: ["https://a.example", "https://b.example"],
    });
    const fromEnv = serveConfig([], { SHROUD_CORS_ORIGINS: "none" });
    expect(fromEnv !== "help" && fromEnv.cors).toEqual({ origins: [] });
    const byDefault = serveConfig([], {});
    expect(byDefault !== "help" && byDefault.cors).toEqual({ origins: "*" });
    expect(() => serveConfig(["--cors-origins", "https://a.example/x"], {})).toThrow(UsageError);
    expect(() => serveConfig([], { SHROUD_CORS_ORIGINS: "a,,b" })).toThrow(/SHROUD_CORS_ORIGINS/);
  });
});
