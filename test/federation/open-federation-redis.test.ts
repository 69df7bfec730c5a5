/**
 * `--federation open` on Redis, forwarded to many new origins: real forwards over HTTP to relay A
 * (on its own redis-server), each to a different next hop (stand-in peers on loopback, each with
 * its own origin and signed descriptor), one round, every batch delivered. Redis must stay
 * bounded: no client connection per peer, no keys left per peer once it is idle, no per-peer
 * polling (also while idle links keep their batches for `dynamicLinkMs`); and a restarted A must
 * not open anything per peer it once had.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prefixKeys } from "../../src/adapters/redis/redis-prefix.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import type { Descriptor } from "../../src/protocol/descriptor.js";
import { RelayStatus } from "../../src/protocol/relay-status.js";
import { DEFAULT_FEDERATION } from "../../src/relay/relay-config.js";
import { freePort } from "../../testkit/free-port.js";
import { startRedis, uniquePrefix, type RedisFixture } from "../../testkit/redis-fixture.js";
import { startStandIns, type StandIns } from "./peer-stand-in.js";
import {
  descriptorOf,
  forwardRequest,
  newMasterKey,
  postSealed,
  startRelay,
  type TestRelay,
} from "./support.js";
import { waitFor } from "../../testkit/wait.js";
import type { Backend } from "../../testkit/describe-each-backend.js";

const ORIGINS = 200;

describe("open federation on Redis, to many new origins", () => {
  let fixture: RedisFixture;
  let redis: Redis;
  let standIns: StandIns;
  const relays: TestRelay[] = [];

  beforeAll(async () => {
    fixture = await startRedis();
    redis = new Redis(fixture.url);
    standIns = await startStandIns(ORIGINS);
  });

  afterAll(async () => {
    for (const relay of relays.splice(0)) await relay.close();
    redis?.disconnect();
    await standIns?.close();
    await fixture?.stop();
  });

  /** Connected clients, this test's own connection left out. */
  async function clients(): Promise<number> {
    const list = (await redis.client("LIST")) as string;
    return list.split("\n").filter((line) => line.trim() !== "").length - 1;
  }

  async function commandsProcessed(): Promise<number> {
    const stats = await redis.info("stats");
    return Number(/total_commands_processed:(\d+)/.exec(stats)![1]);
  }

  async function usedMemory(): Promise<number> {
    return Number(/used_memory:(\d+)/.exec(await redis.info("memory"))![1]);
  }

  /** A relay on this Redis under `open`, on a fresh prefix, restartable on the same origin. */
  async function openRelay(
    delivery: { maxAttempts: number; baseDelayMs: number; maxDelayMs: number },
    dynamicLinkMs = DEFAULT_FEDERATION.dynamicLinkMs,
  ) {
    const port = await freePort();
    const backend: Backend = {
      kind: "redis",
      url: fixture.url,
      prefix: uniquePrefix(),
      masterKey: newMasterKey(),
    };
    const config = {
      roundIntervalMs: 60_000,
      federation: {
        policy: "open" as const,
        peers: [],
        maxDynamicPeers: ORIGINS + 10,
        dynamicLinkMs,
        delivery,
      },
    };
    const start = async () => {
      const relay = await startRelay({ host: "127.0.0.1", port, backend, config });
      relays.push(relay);
      return relay;
    };
    const stop = async (relay: TestRelay) => {
      relays.splice(relays.indexOf(relay), 1);
      await relay.close();
    };
    return { backend, start, stop };
  }

  /** One forward from a client through `a` to every stand-in, then one round. */
  async function forwardToAll(a: TestRelay) {
    const descriptor: Descriptor = await descriptorOf(a.url);
    for (const peer of standIns.peers) {
      const answer = await postSealed(
        a.url,
        descriptor,
        forwardRequest(peer.url, randomBytes(1024)),
      );
      expect(answer.status).toBe(RelayStatus.accepted);
    }
    await a.relay.closeRound();
  }

  it("keeps clients, keys and memory bounded and forgets idle peers", async () => {
    standIns.setBatchStatus(200);
    const { backend, start, stop } = await openRelay({
      maxAttempts: 3,
      baseDelayMs: 50,
      maxDelayMs: 100,
    });
    const a = await start();
    const baseline = await clients();
    const memoryBefore = await usedMemory();
    const acknowledged = standIns.peers.map((p) => p.acknowledged);

    await forwardToAll(a);
    await waitFor(
      () => standIns.peers.filter((peer, i) => peer.acknowledged > acknowledged[i]!).length,
      (delivered) => delivered === ORIGINS,
      60_000,
      "a batch acknowledged by every stand-in",
    );
    const whileDelivering = await clients();
    // The next round finds every link to a stand-in idle and forgets it.
    await a.relay.closeRound();
    const keys = (await prefixKeys(redis, backend.prefix)).map((k) => k.toString("latin1"));
    const peerKeys = keys.filter((k) => k.startsWith(`{${backend.prefix}:f:`));
    const registry = await redis.hlen(`{${backend.prefix}:fp}`);
    const memoryAfter = await usedMemory();
    console.info(
      `open federation to ${ORIGINS} origins: clients ${baseline} -> ${whileDelivering}, ` +
        `${keys.length} keys under the prefix, used_memory ${memoryBefore} -> ${memoryAfter}`,
    );
    expect(whileDelivering - baseline).toBeLessThanOrEqual(3);
    expect({ peerKeys, registry }).toEqual({ peerKeys: [], registry: 0 });
    expect(keys.length).toBeLessThan(40);
    expect(memoryAfter - memoryBefore).toBeLessThan(4 * 1024 * 1024);
    await stop(a);
  }, 180_000);

  it("after a restart serves the batches still queued, opening nothing per peer", async () => {
    // Every stand-in refuses for now: A's batches wait for retries when A stops.
    standIns.setBatchStatus(503);
    // Links end with their traffic here, so the batches queued at the stop are the real ones
    // only (idle dynamic links would add a cover batch each, retried alike).
    const { start, stop } = await openRelay(
      { maxAttempts: 1000, baseDelayMs: 2000, maxDelayMs: 4000 },
      0,
    );
    const idle = await clients();
    let a = await start();
    const baseline = await clients();
    const acknowledged = standIns.peers.map((p) => p.acknowledged);
    const attempted = standIns.peers.map((p) => p.batches.length);
    await forwardToAll(a);
    await waitFor(
      () => standIns.peers.filter((peer, i) => peer.batches.length > attempted[i]!).length,
      (tried) => tried === ORIGINS,
      60_000,
      "a refused attempt at every stand-in",
    );
    await stop(a);
    const gone = await waitFor(clients, (n) => n <= idle, 10_000, "A's clients to close");

    standIns.setBatchStatus(200);
    a = await start();
    await waitFor(
      () => standIns.peers.filter((peer, i) => peer.acknowledged > acknowledged[i]!).length,
      (delivered) => delivered === ORIGINS,
      60_000,
      "every queued batch delivered after the restart",
    );
    const restarted = await clients();
    const before = await commandsProcessed();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const idleCommands = (await commandsProcessed()) - before;
    console.info(
      `restart with ${ORIGINS} peers' batches queued: clients ${baseline} -> ${gone} -> ` +
        `${restarted}, ${idleCommands} commands in 3 s idle afterwards`,
    );
    expect(restarted - baseline).toBeLessThanOrEqual(3);
    expect(idleCommands).toBeLessThan(300);
  }, 180_000);
});
