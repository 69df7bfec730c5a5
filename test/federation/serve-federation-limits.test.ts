/**
 * `shroud serve` reads the federation limits (and the link rate and ingress release) from their
 * flags or SHROUD_* variables (flags first), refuses values out of range naming the flag or
 * variable, and leaves them out (for the relay's defaults) when neither is given. The values
 * reach the relay's configuration.
 */
import { describe, expect, it } from "vitest";
import { serveConfig } from "../../src/cli/serve-command.js";
import { UsageError } from "../../src/cli/cli-support.js";
import { DEFAULT_FEDERATION, relayConfig } from "../../src/relay/relay-config.js";

function federationOf(args: string[], env: NodeJS.ProcessEnv = {}) {
  const config = serveConfig(args, env);
  if (config === "help") throw new Error("help");
  return config.federation;
}

describe("serve: federation limits", () => {
  it("takes flags before variables and passes them to the relay", () => {
    const federation = federationOf(
      ["--max-dynamic-peers", "5", "--peer-cache", "100", "--max-dead-letters", "7"],
      { SHROUD_MAX_DYNAMIC_PEERS: "9", SHROUD_PROXY_TIMEOUT_MS: "2500" },
    );
    expect(federation).toEqual({
      policy: "allowlist",
      peers: [],
      maxDynamicPeers: 5,
      peerCacheSize: 100,
      proxyTimeoutMs: 2500,
      maxDeadLetters: 7,
    });
    const relay = relayConfig({ origin: "http://127.0.0.1:1", federation }).federation;
    expect(relay).toMatchObject({ maxDynamicPeers: 5, proxyTimeoutMs: 2500, maxDeadLetters: 7 });
  });

  it("leaves unset limits to the relay's defaults", () => {
    const federation = federationOf([]);
    expect(federation).toEqual({ policy: "allowlist", peers: [] });
    expect(relayConfig({ origin: "http://127.0.0.1:1", federation }).federation).toMatchObject({
      maxDynamicPeers: DEFAULT_FEDERATION.maxDynamicPeers,
      peerCacheSize: 1024,
      proxyTimeoutMs: 15_000,
      maxDeadLetters: 1024,
      maxBatchBytes: 69_809,
    });
  });

  it("refuses values out of range, naming where they came from", () => {
    expect(() => federationOf(["--peer-cache", "0"])).toThrow(UsageError);
    expect(() => federationOf(["--peer-cache", "0"])).toThrow(/--peer-cache/);
    expect(() => federationOf([], { SHROUD_MAX_DEAD_LETTERS: "many" })).toThrow(
      /SHROUD_MAX_DEAD_LETTERS/,
    );
    expect(() => federationOf(["--proxy-timeout-ms", "-1"])).toThrow(/--proxy-timeout-ms/);
    expect(federationOf(["--max-dynamic-peers", "0"]).maxDynamicPeers).toBe(0);
    expect(() => federationOf(["--batches-per-round", "0"])).toThrow(/--batches-per-round/);
    expect(() => federationOf([], { SHROUD_BATCHES_PER_ROUND: "1001" })).toThrow(
      /SHROUD_BATCHES_PER_ROUND/,
    );
    expect(() => federationOf(["--dynamic-link-ms", "soon"])).toThrow(/--dynamic-link-ms/);
    expect(federationOf(["--dynamic-link-ms", "0"]).dynamicLinkMs).toBe(0);
    expect(() => federationOf(["--ingress-release", "later"])).toThrow(UsageError);
    expect(() => federationOf([], { SHROUD_INGRESS_RELEASE: "never" })).toThrow(
      /SHROUD_INGRESS_RELEASE must be "round" or "immediate"/,
    );
  });

  it("reads the link rate and the ingress release, flags first", () => {
    const federation = federationOf(
      ["--batches-per-round", "4", "--ingress-release", "immediate"],
      {
        SHROUD_BATCHES_PER_ROUND: "2",
        SHROUD_DYNAMIC_LINK_MS: "60000",
        SHROUD_INGRESS_RELEASE: "round",
      },
    );
    expect(federation).toEqual({
      policy: "allowlist",
      peers: [],
      batchesPerRound: 4,
      dynamicLinkMs: 60_000,
      ingressRelease: "immediate",
    });
    const relay = relayConfig({ origin: "http://127.0.0.1:1", federation }).federation;
    expect(relay).toMatchObject({ batchesPerRound: 4, dynamicLinkMs: 60_000 });
    expect(federationOf([], { SHROUD_INGRESS_RELEASE: "immediate" }).ingressRelease).toBe(
      "immediate",
    );
    // Unset: one batch a round, links of ten minutes, the release per round.
    expect(relayConfig({ origin: "http://127.0.0.1:1" }).federation).toMatchObject({
      batchesPerRound: 1,
      dynamicLinkMs: 600_000,
      ingressRelease: "round",
    });
  });
});
