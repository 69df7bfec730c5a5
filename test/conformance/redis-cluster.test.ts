/**
 * The port conformance suite on a three-master Redis Cluster (started by the fixture on free
 * loopback ports): every script touches one slot, multi-slot work (a deposit's steps included)
 * is split per slot, and the round pool spreads over the cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster } from "ioredis";
import { connectRedis } from "../../src/adapters/redis/redis-connection.js";
import { prefixKeys } from "../../src/adapters/redis/redis-prefix.js";
import { redisPorts, type RedisPorts } from "../../src/adapters/redis/redis-ports.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { uniquePrefix } from "../../testkit/redis-fixture.js";
import {
  startRedisCluster,
  type RedisClusterFixture,
} from "../../testkit/redis-cluster-fixture.js";
import { describePortConformance } from "./port-conformance.js";

let cluster: RedisClusterFixture;
const opened: RedisPorts[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);

afterAll(async () => {
  for (const ports of opened) await ports.close();
  await cluster?.stop();
});

function open(prefix = uniquePrefix()): RedisPorts {
  const ports = redisPorts({ url: cluster.url, prefix, masterKey: SecretBytes.random(32) });
  opened.push(ports);
  return ports;
}

describePortConformance("redis cluster", async () => open());

describe("redis cluster: the round pool", () => {
  it("spreads a round's pending deposits over every master", async () => {
    const prefix = uniquePrefix();
    const ports = open(prefix);
    expect(ports.redis).toBeInstanceOf(Cluster);
    // A deposit's keys span slots: on a cluster it runs as separate steps, not one script.
    expect(ports.deposits.atomic).toBe(false);
    const quota = { stored: { items: 0, bytes: 0 }, maxItems: 10, maxBytes: 1 << 20 };
    for (let i = 0; i < 64; i++) {
      const entry = { inboxId: randomBytes(32), messageId: randomBytes(16), item: randomBytes(64) };
      expect(await ports.pool.add(entry, quota)).toBe("added");
    }
    // Each master holds part of the open round (16 shards over 3 masters).
    const admin = connectRedis(cluster.url) as Cluster;
    try {
      await admin.ping();
      const perNode = await Promise.all(
        admin.nodes("master").map(async (node) => {
          const [, keys] = await node.scan("0", "MATCH", `{${prefix}:r*`, "COUNT", 10_000);
          return keys.filter((key) => key.endsWith(":open")).length;
        }),
      );
      expect(perNode.every((count) => count > 0)).toBe(true);
      expect(perNode.reduce((a, b) => a + b, 0)).toBeGreaterThan(3);
      // The close leaves nothing pending behind: every shard is delivered.
      const roundId = await ports.pool.close();
      let delivered = 0;
      for (;;) {
        const page = await ports.pool.page(roundId!, { entries: 10, bytes: 1 << 20 });
        if (page.length === 0) break;
        delivered += page.length;
        if (await ports.pool.release(roundId!, page)) break;
      }
      expect(delivered).toBe(64);
      expect(await ports.pool.unreleased()).toEqual([]);
      const left = (await prefixKeys(admin, prefix)).map((key) => key.toString());
      expect(left.filter((key) => key.includes(":r") && !key.endsWith("}:n"))).toEqual([]);
    } finally {
      admin.disconnect();
    }
  });
});
