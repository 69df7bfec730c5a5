/** Reading a Redis location: one server, or a cluster's seed nodes with credentials and TLS. */
import { describe, expect, it } from "vitest";
import { parseRedisTarget, redisHosts } from "../../src/adapters/redis/redis-connection.js";

describe("parseRedisTarget", () => {
  it("keeps a redis:// or rediss:// URL whole, for one server", () => {
    for (const url of ["redis://127.0.0.1:6379", "rediss://user:pw@redis.example:6380/2"]) {
      expect(parseRedisTarget(url)).toEqual({ kind: "server", url });
    }
  });

  it("reads a cluster's seed nodes, credentials (percent-decoded) and TLS", () => {
    expect(parseRedisTarget("redis+cluster://10.0.0.1:7000,10.0.0.2:7001")).toEqual({
      kind: "cluster",
      nodes: [
        { host: "10.0.0.1", port: 7000 },
        { host: "10.0.0.2", port: 7001 },
      ],
      tls: false,
      username: undefined,
      password: undefined,
    });
    expect(parseRedisTarget("rediss+cluster://relay:p%40ss%3Aw@[::1]:7000/")).toEqual({
      kind: "cluster",
      nodes: [{ host: "::1", port: 7000 }],
      tls: true,
      username: "relay",
      password: "p@ss:w",
    });
    expect(parseRedisTarget("redis+cluster://:secret@node-1.internal:6379")).toMatchObject({
      username: undefined,
      password: "secret",
    });
  });

  it("refuses anything else without repeating it", () => {
    for (const text of [
      "",
      "secret:6379",
      "http://secret:6379",
      "redis+cluster://",
      "redis+cluster://secret",
      "redis+cluster://u:secret@host",
      "redis+cluster://secret:0",
      "redis+cluster://secret:70000",
      "redis+cluster://a:1,,secret:2",
      "redis+cluster://user:%zz@secret:1",
    ]) {
      expect(() => parseRedisTarget(text), text).toThrow(RangeError);
      try {
        parseRedisTarget(text);
      } catch (error) {
        expect((error as Error).message).not.toContain("secret");
      }
    }
  });

  it("names hosts and ports for messages, never credentials", () => {
    expect(redisHosts("redis://:secret@10.0.0.1:6379")).toBe("10.0.0.1:6379");
    expect(redisHosts("redis+cluster://u:secret@a:1,b:2")).toBe("a:1,b:2");
  });
});
