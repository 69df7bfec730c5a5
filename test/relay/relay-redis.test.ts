import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { redisPorts } from "../../src/adapters/redis/redis-ports.js";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { toHex } from "../../src/protocol/bytes.js";
import { ConfigError } from "../../src/protocol/errors.js";
import { MediaTypes } from "../../src/protocol/labels.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { createRelayApp } from "../../src/relay/app.js";
import { rotateKeyRing } from "../../src/relay/key-ring.js";
import { relayConfig } from "../../src/relay/relay-config.js";
import { Relay } from "../../src/relay/relay.js";
import { startNodeRelay, type RunningRelay } from "../../src/node.js";
import { freePort } from "../../testkit/free-port.js";
import { startRedis, uniquePrefix, type RedisFixture } from "../../testkit/redis-fixture.js";
import { manualClock } from "../../testkit/manual-clock.js";
import { recordingFetch, type Exchange } from "../../testkit/recording-fetch.js";
import { text, untext } from "../../testkit/text.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

let redis: RedisFixture;
const running: RunningRelay[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  for (const r of running.splice(0)) await r.close();
});
afterAll(async () => {
  await redis?.stop();
});

async function start(prefix: string, masterKey: SecretBytes, port = 0, roundIntervalMs = 60_000) {
  const relay = await startNodeRelay({
    port,
    redis: { url: redis.url, prefix, masterKey },
    config: { roundIntervalMs },
  });
  running.push(relay);
  return relay;
}

describe("relay on Redis over HTTP", () => {
  it("deposit -> round close -> fetch -> ack, every body a bucket", async () => {
    const relay = await start(uniquePrefix(), SecretBytes.random(32));
    const exchanges: Exchange[] = [];
    const client = await RelayClient.connect(relay.url, {
      shaping: ShapingProfiles.off,
      fetch: recordingFetch(exchanges),
    });
    const inbox = await createInbox(relay.url);
    const card = contactCard(inbox);
    for (const m of ["one", "two", "three"]) {
      expect((await client.deposit(card, text(m))).status).toBe("accepted");
    }
    const before = await client.fetchAll(inbox);
    expect(before.status === "ok" && before.messages).toEqual([]);
    await relay.relay.closeRound();
    const after = await client.fetchAll(inbox);
    if (after.status !== "ok") throw new Error(after.status);
    expect(after.messages.map((m) => untext(m.payload)).sort()).toEqual(["one", "three", "two"]);
    expect(await client.ack(inbox, after.lastSeq)).toEqual({ status: "ok", removed: 3 });
    const buckets = client.descriptor.buckets;
    for (const e of exchanges) {
      expect(buckets).toContain(e.requestLength);
      expect(buckets).toContain(e.responseLength);
    }
  });

  it("cannot be squatted: a made-up write token writes to another inbox, never locks this one", async () => {
    const relay = await start(uniquePrefix(), SecretBytes.random(32));
    const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
    const inbox = await createInbox(relay.url);
    const card = contactCard(inbox);
    const squatter = { ...card, writeToken: SecretBytes.random(32) };
    expect((await client.deposit(squatter, text("squat"))).status).toBe("accepted");
    expect((await client.deposit(card, text("mine"))).status).toBe("accepted");
    await relay.relay.closeRound();
    const fetched = await client.fetchAll(inbox);
    if (fetched.status !== "ok") throw new Error(fetched.status);
    expect(fetched.messages.map((m) => untext(m.payload))).toEqual(["mine"]);
  });

  it("keeps keys and replay records across a restart: an old envelope is a replay (400)", async () => {
    const prefix = uniquePrefix();
    const masterKey = SecretBytes.random(32);
    const port = await freePort();
    const first = await start(prefix, masterKey, port);
    const exchanges: Exchange[] = [];
    const client = await RelayClient.connect(first.url, {
      shaping: ShapingProfiles.off,
      fetch: recordingFetch(exchanges),
    });
    const inbox = await createInbox(first.url);
    await client.deposit(contactCard(inbox), text("before restart"));
    const keyBefore = toHex(first.relay.keyRing.stored.hpke[0]!.publicKey);
    await first.close();
    running.splice(running.indexOf(first), 1);

    const second = await start(prefix, masterKey, port);
    expect(toHex(second.relay.keyRing.stored.hpke[0]!.publicKey)).toBe(keyBefore);
    const replay = await fetch(new URL("/v1/relay", second.url), {
      method: "POST",
      headers: { "content-type": MediaTypes.request },
      body: new Uint8Array(exchanges[0]!.requestBody!),
    });
    expect(replay.status).toBe(400);
    // The deposit accepted before the restart was delivered when the first relay stopped.
    const fetched = await client.fetchAll(inbox);
    expect(fetched.status === "ok" && fetched.messages.map((m) => untext(m.payload))).toEqual([
      "before restart",
    ]);
  });

  it("instances opening together on a fresh prefix share one key ring", async () => {
    const prefix = uniquePrefix();
    const masterKey = SecretBytes.random(32);
    const portsA = redisPorts({ url: redis.url, prefix, masterKey });
    const portsB = redisPorts({ url: redis.url, prefix, masterKey });
    try {
      const config = relayConfig({ origin: "http://relay.test" });
      const [a, b] = await Promise.all([Relay.open(config, portsA), Relay.open(config, portsB)]);
      expect(toHex(a.keyRing.stored.signing.publicKey)).toBe(
        toHex(b.keyRing.stored.signing.publicKey),
      );
      expect(a.keyRing.fingerprint).toBe(b.keyRing.fingerprint);
    } finally {
      await portsA.close();
      await portsB.close();
    }
  });

  it("a key one instance retires keeps its replay records for instances that have not reloaded", async () => {
    const prefix = uniquePrefix();
    const masterKey = SecretBytes.random(32);
    const clock = manualClock(Date.now());
    const portsA = redisPorts({ url: redis.url, prefix, masterKey, clock });
    const portsB = redisPorts({ url: redis.url, prefix, masterKey, clock });
    try {
      const config = relayConfig({ origin: "http://relay.test", roundIntervalMs: 60_000 });
      const a = await Relay.open(config, portsA);
      const b = await Relay.open(config, portsB);
      const appB = createRelayApp(b);
      const bodies: Uint8Array[] = [];
      const client = await RelayClient.connect("http://relay.test", {
        shaping: ShapingProfiles.off,
        now: clock.now,
        fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
          if (init?.body instanceof Uint8Array) bodies.push(new Uint8Array(init.body));
          return appB.fetch(new Request(input, init));
        }) as typeof fetch,
      });
      const inbox = await createInbox("http://relay.test");
      expect((await client.deposit(contactCard(inbox), text("once"))).status).toBe("accepted");
      // Instance A rotates with no overlap and runs maintenance; B has not reloaded yet.
      const { ring } = await rotateKeyRing((await portsA.keys.load())!, clock.now(), 0);
      await portsA.keys.save(ring);
      await a.maintain();
      clock.advance(1000);
      await a.maintain();
      const replayed = await appB.fetch(
        new Request("http://relay.test/v1/relay", {
          method: "POST",
          headers: { "content-type": MediaTypes.request },
          body: new Uint8Array(bodies[0]!),
        }),
      );
      expect(replayed.status).toBe(400);
    } finally {
      await portsA.close();
      await portsB.close();
    }
  });

  it("can keep the round queue on a Redis of its own", async () => {
    const queue = redis.source === "REDIS_URL" ? undefined : await startRedis();
    const queueUrl = queue ? queue.url : Object.assign(new URL(redis.url), { pathname: "/1" }).href;
    const prefix = uniquePrefix();
    try {
      const relay = await startNodeRelay({
        port: 0,
        redis: { url: redis.url, prefix, masterKey: SecretBytes.random(32), queueUrl },
        config: { roundIntervalMs: 100 },
      });
      running.push(relay);
      const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
      const inbox = await createInbox(relay.url);
      await client.deposit(contactCard(inbox), text("queued elsewhere"));
      await expect
        .poll(async () => {
          const r = await client.fetchAll(inbox);
          return r.status === "ok" ? r.messages.length : -1;
        })
        .toBe(1);
      const data = new Redis(redis.url);
      const jobs = new Redis(queueUrl);
      try {
        expect(await data.keys(`{${prefix}:q}*`)).toEqual([]);
        expect((await jobs.keys(`{${prefix}:q}*`)).length).toBeGreaterThan(0);
      } finally {
        data.disconnect();
        jobs.disconnect();
      }
    } finally {
      for (const r of running.splice(0)) await r.close();
      await queue?.stop();
    }
  });

  it("flushes metrics before the connection closes", async () => {
    const prefix = uniquePrefix();
    const ports = redisPorts({ url: redis.url, prefix, masterKey: SecretBytes.random(32) });
    for (let i = 0; i < 50; i++) ports.metrics.count(MetricName.roundsClosed);
    await ports.close();
    const reader = redisPorts({ url: redis.url, prefix, masterKey: SecretBytes.random(32) });
    try {
      expect(await reader.metrics.counter(MetricName.roundsClosed)).toBe(50);
    } finally {
      await reader.close();
    }
  });

  it("refuses to start with the wrong master key, and stores no private key in the clear", async () => {
    const prefix = uniquePrefix();
    const masterKey = SecretBytes.random(32);
    const ports = redisPorts({ url: redis.url, prefix, masterKey });
    const wrong = redisPorts({ url: redis.url, prefix, masterKey: SecretBytes.random(32) });
    try {
      const relay = await Relay.open(relayConfig({ origin: "http://relay.test" }), ports);
      const stored = (await ports.redis.getBuffer(`{${prefix}:keys}`))!;
      const secrets = [
        relay.keyRing.stored.signing.privateKeyPkcs8.expose(),
        relay.keyRing.stored.hpke[0]!.privateKey.expose(),
      ];
      for (const secret of secrets) expect(stored.includes(Buffer.from(secret))).toBe(false);
      await expect(Relay.open(relayConfig({ origin: "http://relay.test" }), wrong)).rejects.toThrow(
        ConfigError,
      );
    } finally {
      await ports.close();
      await wrong.close();
    }
  });
});
