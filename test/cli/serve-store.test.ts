/**
 * Which store `shroud serve` runs on: the SQLite file in the data directory unless told
 * otherwise, in memory with --store memory or SHROUD_STORE=memory, on Redis with --redis.
 */
import { describe, expect, it } from "vitest";
import { serveConfig, type ServeConfig } from "../../src/cli/serve-command.js";

const backend = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  (serveConfig(args, env) as ServeConfig).backend;
const MASTER_KEY = { SHROUD_MASTER_KEY: Buffer.alloc(32, 7).toString("base64") };
const REDIS = "redis://127.0.0.1:6379";

describe("serve store", () => {
  it("runs on the SQLite store by default, in the data directory", () => {
    expect(backend([])).toBe("sqlite");
    expect((serveConfig([], {}) as ServeConfig).dataDir).toBe(".shroud");
    expect(backend(["--store", "sqlite"])).toBe("sqlite");
  });

  it("keeps the in-memory store with --store memory or SHROUD_STORE, the flag first", () => {
    expect(backend(["--store", "memory"])).toBe("memory");
    expect(backend([], { SHROUD_STORE: "memory" })).toBe("memory");
    expect(backend(["--store", "sqlite"], { SHROUD_STORE: "memory" })).toBe("sqlite");
  });

  it("runs on Redis with --redis or REDIS_URL, unless an embedded store is named by flag", () => {
    expect(backend(["--redis", REDIS], MASTER_KEY)).toBe("redis");
    expect(backend([], { ...MASTER_KEY, REDIS_URL: REDIS })).toBe("redis");
    expect(backend(["--store", "memory"], { REDIS_URL: REDIS })).toBe("memory");
    expect(() => serveConfig(["--store", "sqlite", "--redis", REDIS], MASTER_KEY)).toThrow(
      "--store and --redis exclude each other",
    );
  });

  it("refuses a store it does not know, naming the flag or the variable", () => {
    expect(() => serveConfig(["--store", "redis"], {})).toThrow(
      '--store must be "sqlite" or "memory", got "redis"',
    );
    expect(() => serveConfig([], { SHROUD_STORE: "disk" })).toThrow(
      'SHROUD_STORE must be "sqlite" or "memory", got "disk"',
    );
  });

  it("takes a Redis Cluster as redis+cluster:// seed nodes, and round shards for Redis only", () => {
    const cluster = "redis+cluster://127.0.0.1:7000,127.0.0.1:7001";
    const config = serveConfig(["--redis", cluster, "--round-shards", "64"], MASTER_KEY);
    expect((config as ServeConfig).redis).toMatchObject({ url: cluster, roundShards: 64 });
    expect((serveConfig(["--redis", REDIS], MASTER_KEY) as ServeConfig).redis).not.toHaveProperty(
      "roundShards",
    );
    expect(
      (serveConfig(["--redis", REDIS], { ...MASTER_KEY, SHROUD_ROUND_SHARDS: "4" }) as ServeConfig)
        .redis?.roundShards,
    ).toBe(4);
    expect(() => serveConfig(["--round-shards", "4"], {})).toThrow("--round-shards needs --redis");
    expect(() => serveConfig(["--redis", REDIS, "--round-shards", "0"], MASTER_KEY)).toThrow(
      "--round-shards must be an integer from 1 to 256",
    );
    // A malformed URL is named by its flag, and its text (which may hold a password) is not echoed.
    for (const url of ["redis+cluster://secret", "redis+cluster://a:secret@host", "secret"]) {
      let message = "";
      try {
        serveConfig(["--redis", url], MASTER_KEY);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/^--redis /);
      expect(message).not.toContain("secret");
    }
  });
});
