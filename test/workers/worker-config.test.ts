import { describe, expect, it } from "vitest";
import { workerConfig } from "../../src/adapters/workers/worker-config.js";
import { ConfigError } from "../../src/protocol/errors.js";

const KEY = "c2hyb3VkIHdvcmtlcnMgdGVzdCBtYXN0ZXIga2V5ISE";
const base = { SHROUD_ORIGIN: "https://relay.example", SHROUD_MASTER_KEY: KEY };

describe("workerConfig", () => {
  it("fills in the defaults", () => {
    const config = workerConfig(base);
    expect(config.relay.origin).toBe("https://relay.example");
    expect(config.relay.roundIntervalMs).toBe(1000);
    expect(config.relay.federation.policy).toBe("allowlist");
    expect(config.relay.federation.peers).toEqual([]);
    expect(config.relay.federation).toMatchObject({
      batchesPerRound: 1,
      dynamicLinkMs: 600_000,
      ingressRelease: "round",
    });
    expect(config.instance).toBe("shroud");
    expect(config.masterKey.length).toBe(32);
    expect(config.adminToken).toBeUndefined();
    expect(config.relay.cors).toEqual({ origins: "*" });
    // No tokens asked for, none taken, none issued.
    expect(config.relay.tokens).toEqual({ requirement: "off", freePerMinute: 600, accept: [] });
  });

  it("reads every variable, and takes the key in base64 or base64url", () => {
    const config = workerConfig({
      ...base,
      SHROUD_MASTER_KEY: "c2hyb3VkIHdvcmtlcnMgdGVzdCBtYXN0ZXIga2V5ISE=",
      SHROUD_ROUND_MS: "250",
      SHROUD_FEDERATION: "open",
      SHROUD_PEERS: " https://b.example/ , http://127.0.0.1:9000",
      SHROUD_BATCHES_PER_ROUND: "3",
      SHROUD_DYNAMIC_LINK_MS: "0",
      SHROUD_INGRESS_RELEASE: "immediate",
      SHROUD_INSTANCE: "relay-2",
      SHROUD_ADMIN_TOKEN: "a-long-enough-admin-token",
      SHROUD_CORS_ORIGINS: "https://app.example, https://other.example",
      SHROUD_TOKENS: " allowance ",
      SHROUD_TOKEN_FREE_PER_MINUTE: "0",
      SHROUD_TOKEN_ACCEPT: "https://b.example/, http://127.0.0.1:9000,https://b.example",
    });
    expect(config.relay.tokens).toEqual({
      requirement: "allowance",
      freePerMinute: 0,
      accept: ["https://b.example", "http://127.0.0.1:9000"],
    });
    expect(config.relay.cors).toEqual({
      origins: ["https://app.example", "https://other.example"],
    });
    expect(config.relay.roundIntervalMs).toBe(250);
    expect(config.relay.federation.policy).toBe("open");
    expect(config.relay.federation.peers).toEqual(["https://b.example", "http://127.0.0.1:9000"]);
    expect(config.relay.federation).toMatchObject({
      batchesPerRound: 3,
      dynamicLinkMs: 0,
      ingressRelease: "immediate",
    });
    expect(config.instance).toBe("relay-2");
    expect(config.adminToken?.length).toBe(25);
    // Secrets stay out of logs and JSON.
    expect(JSON.stringify(config)).not.toContain(KEY.slice(0, 10));
    expect(JSON.stringify(config)).not.toContain("a-long-enough");
  });

  it.each(["off", "always", "allowance"])(
    "takes SHROUD_TOKENS=%s and never issues",
    (requirement) => {
      const config = workerConfig({
        ...base,
        SHROUD_TOKENS: requirement,
        SHROUD_TOKEN_FREE_PER_MINUTE: "1000000",
        SHROUD_TOKEN_ACCEPT: "https://issuer.example",
      });
      expect(config.relay.tokens).toEqual({
        requirement,
        freePerMinute: 1_000_000,
        accept: ["https://issuer.example"],
      });
      expect(config.relay.tokens.issue).toBeUndefined();
    },
  );

  it("takes issuers without asking for tokens, and empty token settings as unset", () => {
    expect(
      workerConfig({ ...base, SHROUD_TOKEN_ACCEPT: "https://issuer.example" }).relay.tokens,
    ).toEqual({ requirement: "off", freePerMinute: 600, accept: ["https://issuer.example"] });
    expect(
      workerConfig({
        ...base,
        SHROUD_TOKENS: " ",
        SHROUD_TOKEN_FREE_PER_MINUTE: "",
        SHROUD_TOKEN_ACCEPT: "",
      }).relay.tokens,
    ).toEqual({ requirement: "off", freePerMinute: 600, accept: [] });
  });

  it.each([
    [{ SHROUD_MASTER_KEY: KEY }, /SHROUD_ORIGIN must be set/],
    [{ ...base, SHROUD_ORIGIN: "ftp://x" }, /SHROUD_ORIGIN must be an http/],
    [{ SHROUD_ORIGIN: "https://relay.example" }, /SHROUD_MASTER_KEY must be set/],
    [{ ...base, SHROUD_MASTER_KEY: "c2hvcnQ" }, /32 bytes/],
    [{ ...base, SHROUD_MASTER_KEY: "not base64!" }, /base64/],
    [{ ...base, SHROUD_ROUND_MS: "1s" }, /SHROUD_ROUND_MS/],
    [{ ...base, SHROUD_FEDERATION: "everyone" }, /SHROUD_FEDERATION/],
    [{ ...base, SHROUD_PEERS: "https://relay.example" }, /names this relay itself/],
    [{ ...base, SHROUD_PEERS: "b.example" }, /SHROUD_PEERS must be an http/],
    [{ ...base, SHROUD_BATCHES_PER_ROUND: "0" }, /SHROUD_BATCHES_PER_ROUND/],
    [{ ...base, SHROUD_BATCHES_PER_ROUND: "1001" }, /SHROUD_BATCHES_PER_ROUND/],
    [{ ...base, SHROUD_DYNAMIC_LINK_MS: "-1" }, /SHROUD_DYNAMIC_LINK_MS/],
    [{ ...base, SHROUD_INGRESS_RELEASE: "later" }, /SHROUD_INGRESS_RELEASE/],
    [{ ...base, SHROUD_INSTANCE: "a/b" }, /SHROUD_INSTANCE/],
    [{ ...base, SHROUD_ADMIN_TOKEN: "short" }, /SHROUD_ADMIN_TOKEN/],
    [{ ...base, SHROUD_CORS_ORIGINS: "app.example" }, /SHROUD_CORS_ORIGINS/],
    [
      { ...base, SHROUD_CORS_ORIGINS: "https://a.example,,https://b.example" },
      /SHROUD_CORS_ORIGINS/,
    ],
    [{ ...base, SHROUD_TOKENS: "sometimes" }, /SHROUD_TOKENS must be "off", "always"/],
    [{ ...base, SHROUD_TOKENS: "ALWAYS" }, /SHROUD_TOKENS must be/],
    [{ ...base, SHROUD_TOKENS: "always" }, /SHROUD_TOKEN_ACCEPT names no issuer/],
    [{ ...base, SHROUD_TOKENS: "allowance" }, /issues no tokens itself/],
    [
      { ...base, SHROUD_TOKENS: "always", SHROUD_TOKEN_ACCEPT: " , " },
      /SHROUD_TOKEN_ACCEPT names no issuer/,
    ],
    [
      { ...base, SHROUD_TOKEN_ACCEPT: "https://relay.example/" },
      /SHROUD_TOKEN_ACCEPT names this relay itself/,
    ],
    [{ ...base, SHROUD_TOKEN_ACCEPT: "issuer.example" }, /SHROUD_TOKEN_ACCEPT must list http/],
    [
      { ...base, SHROUD_TOKEN_ACCEPT: "https://a.example, ftp://b.example" },
      /SHROUD_TOKEN_ACCEPT must list http/,
    ],
    [{ ...base, SHROUD_TOKEN_FREE_PER_MINUTE: "-1" }, /SHROUD_TOKEN_FREE_PER_MINUTE/],
    [{ ...base, SHROUD_TOKEN_FREE_PER_MINUTE: "1.5" }, /SHROUD_TOKEN_FREE_PER_MINUTE/],
    [{ ...base, SHROUD_TOKEN_FREE_PER_MINUTE: "lots" }, /SHROUD_TOKEN_FREE_PER_MINUTE/],
    [{ ...base, SHROUD_TOKEN_FREE_PER_MINUTE: "1000001" }, /SHROUD_TOKEN_FREE_PER_MINUTE/],
  ])("refuses %j", (vars, message) => {
    expect(() => workerConfig(vars)).toThrow(ConfigError);
    expect(() => workerConfig(vars)).toThrow(message);
  });
});
