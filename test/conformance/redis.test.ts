import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisKeys, REPLAY_SHARDS } from "../../src/adapters/redis/redis-keys.js";
import { prefixKeys } from "../../src/adapters/redis/redis-prefix.js";
import { randomBytes, toHex } from "../../src/protocol/bytes.js";
import { dayOf } from "../../src/relay/ports/clock.js";
import { RoundCloser } from "../../src/relay/round-closer.js";
import { poolLeftovers } from "../redis/support.js";
import { redisPorts, type RedisPorts } from "../../src/adapters/redis/redis-ports.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { startRedis, uniquePrefix, type RedisFixture } from "../../testkit/redis-fixture.js";
import { describePortConformance } from "./port-conformance.js";

let redis: RedisFixture;
const opened: RedisPorts[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  for (const ports of opened) await ports.close();
  await redis?.stop();
});

function open(options: { roundShards?: number; maxInboxes?: number } = {}): RedisPorts {
  const ports = redisPorts({
    url: redis.url,
    prefix: uniquePrefix(),
    masterKey: SecretBytes.random(32),
    ...options,
  });
  opened.push(ports);
  return ports;
}

describePortConformance("redis", async () => open(), {
  capped: async (maxInboxes) => open({ maxInboxes }),
});

// Deposits in their separate steps, as on a cluster or under ports wrapped in decorators.
describePortConformance("redis, deposits step by step", async () => ({
  ...open(),
  deposits: undefined,
}));

describePortConformance("redis, one round shard", async () => open({ roundShards: 1 }));

describe("redis: round shards", () => {
  const DAY = dayOf(Date.now());
  const quota = { maxItems: 100, maxBytes: 1 << 20 };

  it("delivers what a pool with more shards left pending after the count is lowered", async () => {
    const prefix = uniquePrefix();
    const masterKey = SecretBytes.random(32);
    const wide = redisPorts({ url: redis.url, prefix, masterKey, roundShards: 8 });
    const narrow = redisPorts({ url: redis.url, prefix, masterKey, roundShards: 2 });
    opened.push(wide, narrow);
    const inboxes = Array.from({ length: 24 }, () => randomBytes(32));
    const sent = new Map<string, string[]>();
    for (const inbox of inboxes) {
      await wide.inboxes.admit(inbox, randomBytes(16), DAY + 7);
      const entry = { inboxId: inbox, messageId: randomBytes(16), item: randomBytes(48) };
      sent.set(toHex(inbox), [toHex(entry.item)]);
      expect(await wide.pool.add(entry, { stored: { items: 0, bytes: 0 }, ...quota })).toBe(
        "added",
      );
    }
    // Pending in shards 2..7 too, which a two-shard pool never adds to: its closer still
    // closes and delivers them.
    const keys = new RedisKeys(prefix);
    const held = await Promise.all(
      [2, 3, 4, 5, 6, 7].map((s) => wide.redis.zcard(keys.roundShard(s).open)),
    );
    expect(held.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    await new RoundCloser(narrow.pool, narrow.inboxes, narrow.clock, narrow.metrics, 7).close();
    for (const inbox of inboxes) {
      const page = await narrow.inboxes.fetch(inbox, 0, 10);
      expect(page?.items.map((i) => toHex(i.item))).toEqual(sent.get(toHex(inbox)));
    }
    expect(await poolLeftovers(narrow.redis, prefix)).toEqual([]);
  });

  it("refuses a shard count outside 1..256", () => {
    for (const roundShards of [0, 257, 1.5]) {
      expect(
        () => redisPorts({ url: redis.url, masterKey: SecretBytes.random(32), roundShards }),
        String(roundShards),
      ).toThrow(RangeError);
    }
  });
});

describe("redis: replay shards", () => {
  it("spreads records over shards, still refuses what an unsharded set recorded, forgets all", async () => {
    const prefix = uniquePrefix();
    const ports = redisPorts({ url: redis.url, prefix, masterKey: SecretBytes.random(32) });
    opened.push(ports);
    const keys = new RedisKeys(prefix);
    const tag = toHex(randomBytes(32));
    // Written as a relay from before replay shards did: one set for the key.
    const old = randomBytes(32);
    await ports.redis.sadd(keys.replay(tag), Buffer.from(old));
    const fresh = Array.from({ length: 64 }, () => randomBytes(32));
    for (const enc of fresh) expect(await ports.replay.add(tag, enc)).toBe(true);
    expect(await ports.replay.add(tag, old)).toBe(false);
    expect(await ports.replay.has(tag, old)).toBe(true);
    for (const enc of fresh.slice(0, 8)) {
      expect(await ports.replay.add(tag, enc)).toBe(false);
      expect(await ports.replay.has(tag, enc)).toBe(true);
    }
    const sizes = await Promise.all(
      Array.from({ length: REPLAY_SHARDS }, (_, s) => ports.redis.scard(keys.replay(tag, s))),
    );
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(64);
    expect(sizes.filter((size) => size > 0).length).toBeGreaterThan(REPLAY_SHARDS / 2);
    await ports.replay.forget(tag);
    expect(await ports.replay.has(tag, old)).toBe(false);
    expect(await ports.replay.has(tag, fresh[0]!)).toBe(false);
    expect(
      (await prefixKeys(ports.redis, prefix)).filter((k) => k.toString().includes(tag)),
    ).toEqual([]);
  });
});
