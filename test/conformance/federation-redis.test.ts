import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis, type RedisClient } from "../../src/adapters/redis/redis-connection.js";
import {
  DELIVERY_QUEUE,
  peerTag,
  RedisFederationQueue,
} from "../../src/adapters/redis/redis-federation-queue.js";
import { RedisKeys } from "../../src/adapters/redis/redis-keys.js";
import { keyValues, prefixKeys } from "../../src/adapters/redis/redis-prefix.js";
import { randomBytes, toHex } from "../../src/protocol/bytes.js";
import { startRedis, uniquePrefix } from "../../testkit/redis-fixture.js";
import { startRedisCluster } from "../../testkit/redis-cluster-fixture.js";
import { describeFederationQueueConformance } from "./federation-conformance.js";

const PEER = "https://peer.example";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("timed out waiting for a condition");
    await sleep(5);
  }
}

/** Every key under a prefix with everything it holds (names, members, values) as bytes. */
async function contents(redis: RedisClient, prefix: string): Promise<Map<string, Buffer>> {
  const found = new Map<string, Buffer>();
  for (const key of await prefixKeys(redis, prefix)) {
    found.set(key.toString("latin1"), Buffer.concat((await keyValues(redis, key)).values));
  }
  return found;
}

function holding(blob: Map<string, Buffer>, bytes: Uint8Array): string[] {
  const needles = [Buffer.from(bytes), Buffer.from(Buffer.from(bytes).toString("base64"))];
  return [...blob].filter(([, value]) => needles.some((n) => value.includes(n))).map(([k]) => k);
}

/** The same suite on one Redis server and on a three-master Redis Cluster. */
const BACKENDS = [
  { name: "redis", start: startRedis },
  { name: "redis cluster", start: () => startRedisCluster() },
] as const;

for (const backend of BACKENDS) {
  describe(backend.name, () => {
    let fixture: { url: string; stop(): Promise<void> };
    const connections: RedisClient[] = [];
    const queues: RedisFederationQueue[] = [];

    beforeAll(async () => {
      fixture = await backend.start();
    }, 60_000);

    afterAll(async () => {
      for (const queue of queues) await queue.close();
      for (const redis of connections) redis.disconnect();
      await fixture?.stop();
    });

    function connect(): RedisClient {
      const redis = connectRedis(fixture.url);
      connections.push(redis);
      return redis;
    }

    function instance(prefix: string): RedisFederationQueue {
      const queue = new RedisFederationQueue(connect(), fixture.url, new RedisKeys(prefix));
      queues.push(queue);
      return queue;
    }

    describeFederationQueueConformance(
      backend.name,
      async () => {
        const prefix = uniquePrefix();
        return { queue: instance(prefix), reopen: async () => instance(prefix) };
      },
      // An idle Redis times out blocking commands once per `hz` tick (100 ms at the default hz
      // 10), so a BullMQ retry may fire up to about 100 ms after its delay.
      { durable: true, lateMs: 150 },
    );

    describe(`${backend.name} federation queue: what stays in Redis`, () => {
      it("keeps held slots in no arrival order and with no times", async () => {
        const prefix = uniquePrefix();
        const queue = instance(prefix);
        const redis = connect();
        const slots = Array.from({ length: 12 }, () => randomBytes(40));
        for (const slot of slots) await queue.hold(PEER, slot);
        const keys = new RedisKeys(prefix).federationPeer(peerTag(PEER));
        const listed = await redis.zrange(keys.held, "0", "-1", "WITHSCORES");
        const ids = listed.filter((_, i) => i % 2 === 0);
        expect(listed.filter((_, i) => i % 2 === 1).every((score) => score === "0")).toBe(true);
        const stored = await Promise.all(ids.map((id) => redis.getBuffer(keys.entryPrefix + id)));
        // Listed by random id: the chance of arrival order is 1 / 12!.
        expect(stored.map((s) => toHex(s!))).not.toEqual(slots.map(toHex));
        expect(stored.map((s) => toHex(s!)).sort()).toEqual(slots.map(toHex).sort());
        for (const key of (await contents(redis, prefix)).keys()) {
          expect(await redis.pttl(key)).toBe(-1);
        }
      });

      it("deletes slots, claims and batches once delivered", async () => {
        const prefix = uniquePrefix();
        const queue = instance(prefix);
        const redis = connect();
        const slots = [randomBytes(64), randomBytes(64)];
        for (const slot of slots) await queue.hold(PEER, slot);
        const claim = await queue.claim(PEER, 10);
        const batch = randomBytes(300);
        await queue.send(claim, batch);
        const before = await contents(redis, prefix);
        expect(holding(before, slots[0]!)).toEqual([]);
        expect(holding(before, batch)).toHaveLength(1);
        const delivered: string[] = [];
        await queue.startDelivery(
          async (_, b) => {
            delivered.push(toHex(b));
          },
          { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 },
        );
        await waitFor(() => delivered.length === 1);
        await sleep(50);
        await queue.stopDelivery();
        const after = await contents(redis, prefix);
        expect(holding(after, batch)).toEqual([]);
        expect(holding(after, slots[0]!)).toEqual([]);
        expect([...after.keys()].filter((k) => k.includes(":e:") || k.includes(":c:"))).toEqual([]);
      });

      it("keeps a dead letter with a fixed reason and no stack trace", async () => {
        const prefix = uniquePrefix();
        const queue = instance(prefix);
        const redis = connect();
        await queue.startDelivery(
          async () => {
            throw new Error("connect ECONNREFUSED 192.0.2.7:443");
          },
          { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 5 },
        );
        const claim = await queue.claim(PEER, 1);
        await queue.send(claim, randomBytes(100));
        await waitFor(async () => (await queue.deadLetters()).length === 1);
        const job = await redis.hgetall(
          `${new RedisKeys(prefix).federationQueuePrefix}:${DELIVERY_QUEUE}:${claim.id}`,
        );
        expect(job["failedReason"]).toBe("undelivered");
        expect(job["stacktrace"]).toBe("[]");
        const values = [...(await contents(redis, prefix)).values()];
        expect(values.filter((value) => value.includes("192.0.2.7"))).toEqual([]);
      });

      it("delivers batches another instance queued for a peer it never saw", async () => {
        const prefix = uniquePrefix();
        const sender = instance(prefix);
        const deliverer = instance(prefix);
        const delivered: string[] = [];
        await deliverer.startDelivery(
          async (peer, batch) => {
            delivered.push(`${peer} ${toHex(batch)}`);
          },
          { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 10 },
        );
        await sender.hold(PEER, randomBytes(16));
        const batch = randomBytes(50);
        await sender.send(await sender.claim(PEER, 10), batch);
        await waitFor(() => delivered.length === 1, 3000);
        expect(delivered).toEqual([`${PEER} ${toHex(batch)}`]);
      });
    });
  });
}
