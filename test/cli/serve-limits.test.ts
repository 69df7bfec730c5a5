/**
 * The HTTP limits as `shroud serve` reads them: flags, SHROUD_* variables, documented defaults,
 * one clear error for a bad value; and end to end, a relay started with small limits cuts off a
 * slow client and answers 429 past the burst.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_INGRESS_LIMITS } from "../../src/adapters/node/ingress-limits.js";
import { serveConfig, type ServeConfig } from "../../src/cli/serve-command.js";
import { MediaTypes } from "../../src/protocol/labels.js";
import { expectOneErrorLine, killAll, requireBuild, run, serve } from "./support.js";

const limitsOf = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  (serveConfig(args, env) as ServeConfig).limits;

describe("serve limits configuration", () => {
  it("defaults to DEFAULT_INGRESS_LIMITS", () => {
    expect(limitsOf([])).toEqual(DEFAULT_INGRESS_LIMITS);
  });

  it("reads every limit from its flag or its variable, seconds as seconds, flags first", () => {
    const flags = [
      "--headers-timeout",
      "2",
      "--request-timeout",
      "3",
      "--keep-alive-timeout",
      "4",
      "--max-connections",
      "50",
      "--max-connections-per-address",
      "0",
      "--rate-limit",
      "7",
      "--rate-burst",
      "9",
      "--trust-proxy",
    ];
    const expected = {
      headersTimeoutMs: 2000,
      requestTimeoutMs: 3000,
      keepAliveTimeoutMs: 4000,
      maxConnections: 50,
      maxConnectionsPerAddress: 0,
      requestsPerSecond: 7,
      requestBurst: 9,
      trustProxy: true,
    };
    expect(limitsOf(flags)).toEqual(expected);
    const env = {
      SHROUD_HEADERS_TIMEOUT: "2",
      SHROUD_REQUEST_TIMEOUT: "3",
      SHROUD_KEEP_ALIVE_TIMEOUT: "4",
      SHROUD_MAX_CONNECTIONS: "50",
      SHROUD_MAX_CONNECTIONS_PER_ADDRESS: "0",
      SHROUD_RATE_LIMIT: "7",
      SHROUD_RATE_BURST: "9",
      SHROUD_TRUST_PROXY: "1",
    };
    expect(limitsOf([], env)).toEqual(expected);
    expect(limitsOf(["--rate-limit", "0"], env).requestsPerSecond).toBe(0);
    expect(limitsOf([], { SHROUD_TRUST_PROXY: "0" }).trustProxy).toBe(false);
  });

  it("refuses a bad value with one line naming the flag or the variable", async () => {
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [["--request-timeout", "0"], {}, /--request-timeout must be an integer from 1 to 3600/],
      [["--rate-limit=-1"], {}, /--rate-limit must be an integer from 0/],
      [["--max-connections", "lots"], {}, /--max-connections must be an integer/],
      [[], { SHROUD_RATE_BURST: "0" }, /SHROUD_RATE_BURST must be an integer from 1/],
      [[], { SHROUD_TRUST_PROXY: "maybe" }, /SHROUD_TRUST_PROXY must be 1 or 0/],
      [["--headers-timeout", "40"], {}, /header timeout \(40 s\) must not exceed the request/],
    ];
    for (const [args, env, pattern] of cases) {
      expect(() => serveConfig(args, env)).toThrow(pattern);
    }
    requireBuild();
    expectOneErrorLine(await run(["serve", "--rate-burst", "0"]), 2, /--rate-burst must be/);
  });
});

describe("serve with small limits", () => {
  let url: string;
  let dir: string;

  beforeAll(async () => {
    requireBuild();
    dir = await mkdtemp(join(tmpdir(), "shroud-serve-limits-"));
    const relay = await serve(["--port", "0", "--round-ms", "100", "--data", dir], {
      SHROUD_HEADERS_TIMEOUT: "1",
      SHROUD_REQUEST_TIMEOUT: "2",
      SHROUD_RATE_LIMIT: "1",
      SHROUD_RATE_BURST: "2",
    });
    url = relay.url;
  }, 60_000);

  afterAll(async () => {
    killAll();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("cuts off a client that drips its body, and answers 429 past the burst", async () => {
    const port = Number(new URL(url).port);
    const socket = connect({ host: "127.0.0.1", port });
    let received = "";
    socket.setEncoding("latin1").on("data", (chunk: string) => (received += chunk));
    socket.on("error", () => undefined);
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write(
      `POST /v1/relay HTTP/1.1\r\nHost: relay\r\nContent-Type: ${MediaTypes.request}\r\n` +
        "Content-Length: 100000\r\n\r\n",
    );
    const timer = setInterval(() => socket.write("abc"), 200);
    await closed;
    clearInterval(timer);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);

    // A burst of 2 refilled at 1 per second: ten requests at once cannot all pass.
    const answers: { status: number; body: string }[] = [];
    for (let i = 0; i < 10 && !answers.some((a) => a.status === 429); i++) {
      const response = await fetch(`${url}/v1/relay`, {
        method: "POST",
        headers: { "content-type": MediaTypes.request },
        body: new Uint8Array(100),
      });
      answers.push({ status: response.status, body: await response.text() });
    }
    expect(answers.at(-1)).toEqual({ status: 429, body: "too many requests" });
    expect(answers.slice(0, -1).every((a) => a.status === 400)).toBe(true);
  });
});
