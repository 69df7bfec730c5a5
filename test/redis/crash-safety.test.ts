/**
 * Crash safety on Redis: a relay process SIGKILLed at random moments, or in the middle of a
 * round close, loses no acknowledged deposit and delivers none twice; and, in process, a closer
 * that fails part-way through appending leaves its round for the next closer to finish.
 * All of it on one Redis server, where a deposit is one script (atomic: a killed relay never
 * leaves part of one in Redis), and on a three-master Redis Cluster, where a deposit's steps are
 * separate calls (each atomic in its slot). The process cases need `npm run build` (the CLI runs
 * from dist/).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis, type RedisClient } from "../../src/adapters/redis/redis-connection.js";
import { RedisKeys, roundShardOf } from "../../src/adapters/redis/redis-keys.js";
import { redisPorts, type RedisPorts } from "../../src/adapters/redis/redis-ports.js";
import { fromUtf8, randomBytes, toHex, utf8 } from "../../src/protocol/bytes.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { dayOf } from "../../src/relay/ports/clock.js";
import type { RoundEntry } from "../../src/relay/ports/inbox-store.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { RoundCloser } from "../../src/relay/round-closer.js";
import { freePort } from "../../testkit/free-port.js";
import { startRedis, uniquePrefix } from "../../testkit/redis-fixture.js";
import { startRedisCluster } from "../../testkit/redis-cluster-fixture.js";
import {
  killAllRelays,
  newMasterKey,
  requireBuiltCli,
  startRelayProcess,
  type RelayProcess,
  type RelayProcessOptions,
} from "../../testkit/relay-process.js";
import { descriptorKeys, randomInt, ResilientClient } from "../../testkit/resilient-client.js";
import { closedRoundSize, closedRounds, poolLeftovers } from "./support.js";
import { sleep } from "../../testkit/wait.js";
import { depositAll, expectDeliveredOnce, makeItems } from "../../testkit/crash-deliveries.js";

const BACKENDS = [
  { name: "redis", start: startRedis },
  { name: "redis cluster", start: () => startRedisCluster() },
] as const;

describe.each(BACKENDS)("Crash safety on $name", ({ start }) => {
  let fixture: { url: string; stop(): Promise<void> } | undefined;
  let redis: RedisClient;
  const masterKey = newMasterKey();

  beforeAll(async () => {
    requireBuiltCli();
    fixture = await start();
    redis = connectRedis(fixture.url);
  }, 60_000);

  afterAll(async () => {
    killAllRelays();
    redis?.disconnect();
    await fixture?.stop();
  });

  const serveOptions = async (roundMs: number): Promise<RelayProcessOptions> => ({
    redisUrl: fixture!.url,
    prefix: uniquePrefix(),
    masterKey,
    port: await freePort(),
    roundMs,
  });

  it("loses no acknowledged deposit and delivers none twice across random SIGKILLs", async () => {
    const options = await serveOptions(100);
    let relay = await startRelayProcess(options);
    const client = new ResilientClient(relay.url);
    const { boxes, items } = await makeItems(relay.url, "kill", 4, 75);
    const firstKeys = descriptorKeys((await client.ensureConnected()).descriptor);

    let kills = 0;
    const downtimes: number[] = [];
    const killer = (async () => {
      for (let k = 0; k < 5; k++) {
        await sleep(randomInt(100, 600));
        await relay.kill();
        kills++;
        const down = Date.now();
        relay = await startRelayProcess(options); // same port, at once
        downtimes.push(Date.now() - down);
      }
    })();
    // Paced, so the deposits outlast the kills.
    const results = await depositAll(client, items, 2, [5, 15]);
    const killsWhileDepositing = kills;
    await killer;

    // Every deposit was acknowledged (some as duplicates of an attempt the kill cut off).
    expect(results.map((r) => r.status)).toEqual(items.map(() => "accepted"));
    // The kills interrupted deposits: some attempts failed and were retried.
    expect(killsWhileDepositing).toBeGreaterThanOrEqual(1);
    expect([...client.failures.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    console.log(
      `crash: ${killsWhileDepositing}/5 kills while depositing, failures`,
      Object.fromEntries(client.failures),
      `duplicates ${results.filter((r) => r.status === "accepted" && r.duplicate).length}`,
      `restarts took ${downtimes.join(", ")} ms`,
    );

    await expectDeliveredOnce(client, boxes, items, 15_000);
    await sleep(300); // three more rounds: nothing may arrive late or twice
    await expectDeliveredOnce(client, boxes, items, 0);
    expect(await poolLeftovers(redis, options.prefix!)).toEqual([]);
    // The key ring survived every restart: the same identity and HPKE key.
    const fresh = new ResilientClient(relay.url);
    expect(descriptorKeys((await fresh.ensureConnected()).descriptor)).toEqual(firstKeys);
  }, 60_000);

  it("a kill during a round close: the next process delivers the round, exactly once", async () => {
    // Long rounds, so even a busy machine's deposits fill the round the kill meets.
    const options = await serveOptions(4000);
    const keys = new RedisKeys(options.prefix);
    let relay: RelayProcess = await startRelayProcess(options);
    const client = new ResilientClient(relay.url);
    const { boxes, items } = await makeItems(relay.url, "round", 20, 100);

    // Start right after a scheduled close, so deposits pile up in one large round.
    const runs = async () => Number(await redis.hget(keys.metrics, MetricName.roundRuns));
    const before = await runs();
    while ((await runs()) === before) await sleep(5);
    const started = Date.now();
    const deposits = depositAll(client, items, 16);

    // Kill the moment that round is closed and not yet released; deposits still under way
    // are retried against the next process.
    const poller = connectRedis(fixture!.url);
    const deadline = Date.now() + 10_000;
    while ((await closedRounds(poller, options.prefix!)).length === 0 && Date.now() < deadline) {
      // Each poll is a Redis round trip, which yields to the deposits: no sleep, no latency.
    }
    await relay.kill();
    poller.disconnect();
    const killedAfter = Date.now() - started;

    // With the process gone, Redis holds exactly what the kill left behind.
    const unreleased = await closedRounds(redis, options.prefix!);
    const roundSize =
      unreleased.length === 1 ? await closedRoundSize(redis, options.prefix!, unreleased[0]!) : 0;
    let appended = 0;
    for (const inbox of boxes) appended += await redis.zcard(keys.inbox(inbox.inboxId).items);
    expect(unreleased).toHaveLength(1);
    // A real round (on a busy CI machine 67 deposits arrived in a 3 s round).
    expect(roundSize).toBeGreaterThan(20);
    expect(appended).toBeLessThanOrEqual(roundSize);

    relay = await startRelayProcess(options);
    const results = await deposits;
    expect(results.map((r) => r.status)).toEqual(items.map(() => "accepted"));
    console.log(
      `round close kill after ${killedAfter} ms: ${roundSize} in the unreleased round,`,
      `${appended} of them appended; deposits took ${Date.now() - started} ms,`,
      `${results.filter((r) => r.status === "accepted" && r.duplicate).length} duplicates`,
    );
    await expectDeliveredOnce(client, boxes, items, 20_000);
    expect(await poolLeftovers(redis, options.prefix!)).toEqual([]);
  }, 120_000);

  describe("in process: a closer that fails part-way", () => {
    const DAY = dayOf(Date.now());
    const quota = { maxItems: 1000, maxBytes: 1 << 24 };
    const opened: RedisPorts[] = [];
    const open = (prefix: string, key: SecretBytes) => {
      const ports = redisPorts({ url: fixture!.url, prefix, masterKey: key });
      opened.push(ports);
      return ports;
    };
    const closerFor = (ports: RedisPorts) =>
      new RoundCloser(ports.pool, ports.inboxes, ports.clock, ports.metrics, 7);

    afterAll(async () => {
      for (const ports of opened) await ports.close();
    });

    /** Six inboxes with five pending deposits each; items name their inbox and index. */
    async function pendingRound(ports: RedisPorts) {
      const inboxes = Array.from({ length: 6 }, () => randomBytes(32));
      for (const inbox of inboxes) {
        expect(await ports.inboxes.admit(inbox, randomBytes(16), DAY + 7)).toMatchObject({
          created: true,
        });
      }
      const entries: RoundEntry[] = inboxes.flatMap((inbox, k) =>
        Array.from({ length: 5 }, (_, j) => ({
          inboxId: inbox,
          messageId: randomBytes(16),
          item: utf8(`inbox${k}-item${j}`),
        })),
      );
      await add(ports, entries);
      return { inboxes, entries };
    }

    async function add(ports: RedisPorts, entries: readonly RoundEntry[]) {
      for (const entry of entries) {
        const stored = await ports.inboxes.usage(entry.inboxId);
        expect(await ports.pool.add(entry, { stored, ...quota })).toBe("added");
      }
    }

    /** Texts of everything an inbox holds, in seq order, checking seqs run 1..n. */
    async function contents(ports: RedisPorts, inbox: Uint8Array): Promise<string[]> {
      const page = await ports.inboxes.fetch(inbox, 0, 1000);
      expect(page?.more).toBe(false);
      const items = page?.items ?? [];
      expect(items.map((i) => i.seq)).toEqual(items.map((_, i) => i + 1));
      return items.map((i) => fromUtf8(i.item));
    }

    /** Makes `ports`' appendRound append the first `inboxes` inboxes of a round, then throw. */
    function failAfter(ports: RedisPorts, inboxes: number): { appended: string[] } {
      const original = ports.inboxes.appendRound.bind(ports.inboxes);
      const seen = { appended: [] as string[] };
      ports.inboxes.appendRound = async (entries, expiresDay) => {
        const order = [...new Set(entries.map((e) => toHex(e.inboxId)))].slice(0, inboxes);
        for (const id of order) {
          await original(
            entries.filter((e) => toHex(e.inboxId) === id),
            expiresDay,
          );
          seen.appended.push(id);
        }
        throw new Error(`simulated crash after ${inboxes} inboxes`);
      };
      return seen;
    }

    it("leaves the round unreleased; a fresh closer delivers the rest exactly once", async () => {
      const prefix = uniquePrefix();
      const key = SecretBytes.random(32);
      const first = open(prefix, key);
      const keys = new RedisKeys(prefix);
      const { inboxes, entries } = await pendingRound(first);
      // Pending deposits are not visible before a round closes.
      for (const inbox of inboxes) expect(await contents(first, inbox)).toEqual([]);

      const failing = failAfter(first, 3);
      await expect(closerFor(first).close()).rejects.toThrow("simulated crash after 3 inboxes");
      expect(failing.appended).toHaveLength(3);
      const expected = (inbox: Uint8Array) =>
        entries.filter((e) => toHex(e.inboxId) === toHex(inbox)).map((e) => fromUtf8(e.item));
      for (const inbox of inboxes) {
        const done = failing.appended.includes(toHex(inbox));
        expect((await contents(first, inbox)).sort()).toEqual(done ? expected(inbox).sort() : []);
      }
      // The round stays closed and unreleased, with every entry, and still counts as pending.
      const [round, ...others] = await first.pool.unreleased();
      expect(others).toEqual([]);
      const page = await first.pool.page(round!, { entries: 1000, bytes: 1 << 24 });
      expect(page.map((e) => fromUtf8(e.item)).sort()).toEqual(
        entries.map((e) => fromUtf8(e.item)).sort(),
      );
      expect(await closedRounds(redis, prefix)).toEqual([round!]);
      const shard = keys.roundShard(roundShardOf(inboxes[0]!, first.pool.shards));
      expect(Number(await redis.zscore(shard.pendingItems, toHex(inboxes[0]!)))).toBe(5);
      // A retried deposit of a message in that round is still a duplicate, appended or not.
      for (const entry of [entries[0]!, entries[29]!]) {
        const stored = await first.inboxes.usage(entry.inboxId);
        expect(await first.pool.add(entry, { stored, ...quota })).toBe("duplicate");
      }
      // New deposits meanwhile go to the next round.
      const late: RoundEntry[] = inboxes.map((inbox, k) => ({
        inboxId: inbox,
        messageId: randomBytes(16),
        item: utf8(`inbox${k}-late`),
      }));
      await add(first, late);

      // Another instance's closer (fresh connection, same prefix) finishes the job.
      const second = open(prefix, key);
      await closerFor(second).close();
      for (const [k, inbox] of inboxes.entries()) {
        expect((await contents(second, inbox)).sort()).toEqual(
          [...expected(inbox), `inbox${k}-late`].sort(),
        );
        expect(await second.inboxes.usage(inbox)).toEqual({ items: 6, bytes: expect.any(Number) });
      }
      expect(await second.pool.unreleased()).toEqual([]);
      expect(await poolLeftovers(redis, prefix)).toEqual([]);
      // Closing again (as the next scheduled round would) changes nothing.
      await closerFor(first).close();
      for (const inbox of inboxes) expect(await contents(second, inbox)).toHaveLength(6);
    });

    it("two instances delivering the same leftover round at once still deliver it once", async () => {
      const prefix = uniquePrefix();
      const key = SecretBytes.random(32);
      const first = open(prefix, key);
      const { inboxes, entries } = await pendingRound(first);
      failAfter(first, 2);
      await expect(closerFor(first).close()).rejects.toThrow("simulated crash");

      const [second, third] = [open(prefix, key), open(prefix, key)];
      await Promise.all([closerFor(second).close(), closerFor(third).close()]);
      const all = (await Promise.all(inboxes.map((inbox) => contents(second, inbox)))).flat();
      expect(all.sort()).toEqual(entries.map((e) => fromUtf8(e.item)).sort());
      expect(await poolLeftovers(redis, prefix)).toEqual([]);
    });
  });
});
