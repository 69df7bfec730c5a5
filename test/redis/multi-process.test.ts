/**
 * Two `shroud serve --redis` processes on one Redis and one prefix behave as one relay: one key
 * ring, one round schedule, one set of inboxes; on one Redis server and on a three-master Redis
 * Cluster. Needs `npm run build` (the CLI runs from dist/).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis, type RedisClient } from "../../src/adapters/redis/redis-connection.js";
import { RedisKeys } from "../../src/adapters/redis/redis-keys.js";
import { contactCard, createInbox, type Inbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { randomBytes, toHex, utf8 } from "../../src/protocol/bytes.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { freePort } from "../../testkit/free-port.js";
import { startRedis, uniquePrefix } from "../../testkit/redis-fixture.js";
import { startRedisCluster } from "../../testkit/redis-cluster-fixture.js";
import {
  killAllRelays,
  newMasterKey,
  requireBuiltCli,
  startRelayProcess,
  type RelayProcess,
} from "../../testkit/relay-process.js";
import { descriptorKeys, ResilientClient, tally } from "../../testkit/resilient-client.js";
import { poolLeftovers } from "./support.js";
import { sleep } from "../../testkit/wait.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

const ROUND_MS = 200;

const BACKENDS = [
  { name: "Redis", start: startRedis },
  { name: "Redis Cluster", start: () => startRedisCluster() },
] as const;

describe.each(BACKENDS)("Two relay processes on one $name", ({ start }) => {
  let fixture: { url: string; stop(): Promise<void> } | undefined;
  let redis: RedisClient;
  let prefix: string;
  let a: RelayProcess;
  let b: RelayProcess;
  let viaA: ResilientClient;
  let viaB: ResilientClient;
  let signingKey: Uint8Array;

  beforeAll(async () => {
    requireBuiltCli();
    fixture = await start();
    redis = connectRedis(fixture.url);
    prefix = uniquePrefix();
    const masterKey = newMasterKey();
    const [portA, portB] = [await freePort(), await freePort()];
    const options = { redisUrl: fixture.url, prefix, masterKey, roundMs: ROUND_MS };
    // Started together, so both race to create the key ring: the first must win for both.
    [a, b] = await Promise.all([
      startRelayProcess({ ...options, port: portA }),
      startRelayProcess({ ...options, port: portB }),
    ]);
    viaA = new ResilientClient(a.url);
    viaB = new ResilientClient(b.url);
    signingKey = (await RelayClient.connect(a.url, { shaping: ShapingProfiles.off })).descriptor
      .signingKey;
  }, 60_000);

  afterAll(async () => {
    killAllRelays();
    redis?.disconnect();
    await fixture?.stop();
  });

  /** Fetches `inbox` through `client` until `count` messages are there (or 15 s pass). */
  async function waitFor(client: ResilientClient, inbox: Inbox, count: number) {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const messages = await client.fetchAll(inbox);
      if (messages.length >= count || Date.now() > deadline) return messages;
      await sleep(ROUND_MS / 2);
    }
  }

  it("serves one identity: the same signing key and HPKE keys from both processes", async () => {
    const [clientA, clientB] = await Promise.all([
      RelayClient.connect(a.url, { shaping: ShapingProfiles.off }),
      RelayClient.connect(b.url, { shaping: ShapingProfiles.off }),
    ]);
    // Each process names its own origin, signed with the one shared signing key.
    expect(clientA.descriptor.origin).toBe(a.url);
    expect(clientB.descriptor.origin).toBe(b.url);
    expect(a.url).not.toBe(b.url);
    const keysA = descriptorKeys(clientA.descriptor);
    expect(keysA.hpke).toHaveLength(1);
    expect(descriptorKeys(clientB.descriptor)).toEqual(keysA);
    // A client pinned to A's signing key accepts B's descriptor.
    const pinned = await RelayClient.connect(b.url, {
      shaping: ShapingProfiles.off,
      pinnedSigningKey: signingKey,
    });
    expect(descriptorKeys(pinned.descriptor)).toEqual(keysA);
    const ohttpKeys = async (origin: string) =>
      toHex(
        new Uint8Array(
          await (await fetch(new URL("/.well-known/ohttp-keys", origin))).arrayBuffer(),
        ),
      );
    expect(await ohttpKeys(b.url)).toBe(await ohttpKeys(a.url));
    // One key ring in Redis, sealed under the master key: no private key in the clear.
    const ring = await redis.getBuffer(new RedisKeys(prefix).keyRing);
    expect(ring).not.toBeNull();
    expect(ring!.toString("latin1")).not.toContain("hpke");
  });

  it("delivers what is deposited through one process to fetches through the other, once each", async () => {
    const inboxA = await createInbox(a.url, signingKey);
    const inboxB = await createInbox(b.url, signingKey);
    const N = 20;
    const idsA = Array.from({ length: N }, () => randomBytes(16));
    const idsB = Array.from({ length: N }, () => randomBytes(16));
    const textsA = idsA.map((_, i) => `A->${i}`);
    const textsB = idsB.map((_, i) => `B->${i}`);
    for (let i = 0; i < N; i++) {
      expect(await viaA.deposit(contactCard(inboxA), utf8(textsA[i]!), idsA[i]!)).toEqual({
        status: "accepted",
        duplicate: false,
      });
      expect(await viaB.deposit(contactCard(inboxB), utf8(textsB[i]!), idsB[i]!)).toEqual({
        status: "accepted",
        duplicate: false,
      });
    }
    // A retry that lands on the other process is the same message: pending or delivered, once.
    for (let i = 0; i < 5; i++) {
      const againA = await viaB.deposit(contactCard(inboxA), utf8(textsA[i]!), idsA[i]!);
      const againB = await viaA.deposit(contactCard(inboxB), utf8(textsB[i]!), idsB[i]!);
      expect([againA, againB]).toEqual([
        { status: "accepted", duplicate: true },
        { status: "accepted", duplicate: true },
      ]);
    }
    await waitFor(viaB, inboxA, N);
    await waitFor(viaA, inboxB, N);
    // Two more rounds: nothing may arrive late or twice.
    await sleep(3 * ROUND_MS);
    const seqs = Array.from({ length: N }, (_, i) => i + 1);
    for (const [inbox, texts] of [
      [inboxA, textsA],
      [inboxB, textsB],
    ] as const) {
      const throughB = await viaB.fetchAll(inbox);
      const throughA = await viaA.fetchAll(inbox);
      expect(throughA).toEqual(throughB);
      expect(throughB.map((m) => m.seq)).toEqual(seqs);
      expect(throughB.map((m) => m.text).sort()).toEqual([...texts].sort());
    }
  }, 40_000);

  it("closes each round once across both processes and never delivers a message twice", async () => {
    const inbox = await createInbox(a.url, signingKey);
    const card = contactCard(inbox);
    const deposited: string[] = [];
    const seen: { seq: number; text: string }[] = [];
    let lastSeq = 0;
    let depositing = true;

    // Deposits alternate between the processes, and so do incremental fetches (after the last
    // seq seen): a message appended twice would come back twice with two seqs.
    const fetchNew = async (round: number) => {
      const page = await (round % 2 === 0 ? viaA : viaB).fetchAll(inbox, lastSeq);
      seen.push(...page);
      lastSeq = Math.max(lastSeq, ...page.map((m) => m.seq));
    };
    const depositor = (async () => {
      try {
        for (let i = 0; depositing; i++) {
          const text = `window-${i}`;
          const via = i % 2 === 0 ? viaA : viaB;
          const result = await via.deposit(card, utf8(text), randomBytes(16));
          expect(result).toEqual({ status: "accepted", duplicate: false });
          deposited.push(text);
          await sleep(15);
        }
      } finally {
        depositing = false;
      }
    })();
    const fetcher = (async () => {
      for (let round = 0; depositing; round++) {
        await fetchNew(round);
        await sleep(ROUND_MS / 4);
      }
    })();

    const runs = async () =>
      Number(await redis.hget(new RedisKeys(prefix).metrics, MetricName.roundRuns));
    const windowMs = 3000;
    await sleep(ROUND_MS); // the loops are under way
    const before = await runs();
    const started = performance.now();
    await sleep(windowMs);
    const after = await runs();
    const elapsed = performance.now() - started;
    // Enough messages for the duplicate check, however slowly a busy machine deposits them.
    const enough = Date.now() + 60_000;
    while (depositing && deposited.length <= 50 && Date.now() < enough) await sleep(ROUND_MS);
    depositing = false;
    await Promise.all([depositor, fetcher]);

    // About one run per interval for the pair of processes; each running its own schedule
    // would give about twice that.
    const expected = elapsed / ROUND_MS;
    console.log(
      `rounds: ${after - before} runs in ${Math.round(elapsed)} ms (${ROUND_MS} ms rounds)`,
    );
    expect(after - before).toBeGreaterThanOrEqual(Math.floor((expected * 2) / 3));
    expect(after - before).toBeLessThanOrEqual(Math.ceil((expected * 4) / 3));

    const deadline = Date.now() + 15_000;
    for (let round = 0; seen.length < deposited.length && Date.now() < deadline; round++) {
      await fetchNew(round);
      await sleep(ROUND_MS / 2);
    }
    await sleep(3 * ROUND_MS);
    await fetchNew(0);
    await fetchNew(1);

    expect(deposited.length).toBeGreaterThan(50);
    const counts = tally(seen.map((m) => m.text));
    expect([...counts].filter(([, n]) => n !== 1)).toEqual([]);
    expect([...counts.keys()].sort()).toEqual([...deposited].sort());
    expect(seen.map((m) => m.seq)).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
    expect(await poolLeftovers(redis, prefix)).toEqual([]);
    // Neither process died or complained meanwhile.
    expect(a.running()).toBe(true);
    expect(b.running()).toBe(true);
    expect(a.stderr() + b.stderr()).toBe("");
  }, 120_000);
});
