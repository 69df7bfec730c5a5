/**
 * The attesters an issuing relay can put in front of POST /v1/tokens: each names the client it
 * vouches for (the key its allowance is counted under) or no one. Over HTTP on the Node entry,
 * the address attester counts one allowance per client address, and believes X-Forwarded-For
 * only behind a proxy the operator declared.
 */
import { afterEach, describe, expect, it } from "vitest";
import { memoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { TokenWallet } from "../../src/client/token-wallet.js";
import { startNodeRelay, type RunningRelay } from "../../src/node.js";
import {
  addressAttester,
  headerAttester,
  inviteAttester,
  type Attester,
} from "../../src/relay/attester.js";
import type { IngressLimits } from "../../src/adapters/node/ingress-limits.js";

function request(headers: Record<string, string> = {}): Request {
  return new Request("https://a.example/v1/tokens", { method: "POST", headers });
}

describe("attesters", () => {
  it("invite: vouches for a holder of a secret, one allowance per secret", () => {
    const attester = inviteAttester(["first-secret", "second-secret"]);
    expect(attester.attest(request({ authorization: "Bearer second-secret" }), "1.2.3.4")).toBe(
      "invite:1",
    );
    expect(attester.attest(request({ authorization: "bearer first-secret" }), undefined)).toBe(
      "invite:0",
    );
    for (const authorization of ["Bearer first-secre", "Bearer", "Basic first-secret", ""]) {
      expect(attester.attest(request({ authorization }), "1.2.3.4")).toBeUndefined();
    }
    expect(attester.attest(request(), "1.2.3.4")).toBeUndefined();
  });

  it("header: vouches for the user the operator's proxy named", () => {
    const attester = headerAttester("x-shroud-user");
    expect(attester.attest(request({ "x-shroud-user": " alice " }), undefined)).toBe("user:alice");
    expect(attester.attest(request({ "x-shroud-user": "  " }), undefined)).toBeUndefined();
    expect(attester.attest(request({ "x-other": "alice" }), undefined)).toBeUndefined();
  });

  it("address: vouches for whoever has an address, counted by it", () => {
    expect(addressAttester.attest(request(), "192.0.2.7")).toBe("address:192.0.2.7");
    expect(addressAttester.attest(request(), undefined)).toBeUndefined();
  });
});

describe("the address attester over HTTP", () => {
  let running: RunningRelay | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  async function issuer(attester: Attester, limits: Partial<IngressLimits> = {}) {
    running = await startNodeRelay({
      port: 0,
      ports: memoryPorts(),
      attester,
      limits,
      config: {
        tokens: {
          requirement: "off",
          freePerMinute: 0,
          accept: [],
          issue: { perPeriod: 6, periodMs: 3600_000, maxBatch: 10, keyLifetimeMs: 3600_000 },
        },
      },
    });
    return running.url;
  }

  it("gives one allowance to everyone at one address", async () => {
    const url = await issuer(addressAttester);
    expect(await new TokenWallet(url, { batchSize: 4 }).refill()).toBe(4);
    // Another wallet at the same address shares its allowance: 4 of 6 are gone.
    await expect(new TokenWallet(url, { batchSize: 4 }).refill()).rejects.toThrow(/HTTP 429/);
    // A forwarded-for header is not believed when no proxy was declared.
    const spoofed = { "x-forwarded-for": "198.51.100.9" };
    await expect(
      new TokenWallet(url, { batchSize: 4, attestation: spoofed }).refill(),
    ).rejects.toThrow(/HTTP 429/);
    expect(await new TokenWallet(url, { batchSize: 2 }).refill()).toBe(2);
  }, 30_000);

  it("counts the proxy's forwarded address behind a declared proxy", async () => {
    const url = await issuer(addressAttester, { trustProxy: true });
    const from = (address: string) =>
      new TokenWallet(url, { batchSize: 6, attestation: { "x-forwarded-for": address } });
    expect(await from("198.51.100.9").refill()).toBe(6);
    await expect(from("198.51.100.9").refill()).rejects.toThrow(/HTTP 429/);
    expect(await from("203.0.113.4").refill()).toBe(6);
  }, 30_000);
});
