/**
 * What a seized Redis reveals: after a scenario with many inboxes, every key, value, TTL and
 * score is dumped and checked against docs/THREAT-MODEL.md: no time finer than a day, no client
 * addresses, no payloads as deposited (only padded items of bucket sizes), and no arrival order
 * among pending deposits. A second scenario does the same for an ingress relay's federation
 * state: held and sent forwards, peers and the delivery queue. Both on one Redis server and on a
 * three-master Redis Cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contactCard, createInbox, type Inbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { toHex } from "../../src/protocol/bytes.js";
import { MemoryKeyStore } from "../../src/adapters/memory/memory-key-store.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { startNodeRelay, type RunningRelay } from "../../src/node.js";
import { freePort } from "../../testkit/free-port.js";
import { connectRedis, type RedisClient } from "../../src/adapters/redis/redis-connection.js";
import type { RedisMetrics } from "../../src/adapters/redis/redis-metrics.js";
import { prefixKeys } from "../../src/adapters/redis/redis-prefix.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { startRedis, uniquePrefix } from "../../testkit/redis-fixture.js";
import { startRedisCluster } from "../../testkit/redis-cluster-fixture.js";
import { atRestTraffic } from "./at-rest-workload.js";
import { text } from "../../testkit/text.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

interface Dumped {
  key: Buffer;
  type: string;
  pttl: number;
  /** Every stored byte string (values, members, fields). */
  blobs: Buffer[];
  /** Every number Redis holds for the key (scores). */
  scores: number[];
  /** For zsets: members in Redis' own order. */
  members?: Buffer[];
}

async function dump(redis: RedisClient, prefix: string): Promise<Dumped[]> {
  // Every key of the prefix (BullMQ's are hash-tagged under it too), on every cluster node.
  const keys = await prefixKeys(redis, prefix);
  const out: Dumped[] = [];
  for (const key of keys) {
    const type = await redis.type(key);
    const pttl = await redis.pttl(key);
    const entry: Dumped = { key, type, pttl, blobs: [], scores: [] };
    if (type === "none") continue; // gone since it was listed (a BullMQ job lock released)
    if (type === "string") {
      const value = await redis.getBuffer(key);
      if (value === null) continue; // gone between TYPE and GET, as above
      entry.blobs.push(value);
    } else if (type === "hash") {
      const all = await redis.hgetallBuffer(key);
      for (const [field, value] of Object.entries(all)) {
        entry.blobs.push(Buffer.from(field, "latin1"), value);
      }
    } else if (type === "set") entry.blobs.push(...(await redis.smembersBuffer(key)));
    else if (type === "list") entry.blobs.push(...(await redis.lrangeBuffer(key, 0, -1)));
    else if (type === "zset") {
      const flat = await redis.zrangeBuffer(key, "0", "-1", "WITHSCORES");
      const members: Buffer[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        members.push(flat[i]!);
        entry.scores.push(Number(flat[i + 1]!.toString()));
      }
      entry.members = members;
      entry.blobs.push(...members);
    } else if (type === "stream") {
      const entries = (await redis.xrangeBuffer(key, "-", "+")) as [Buffer, Buffer[]][];
      for (const [id, fields] of entries) entry.blobs.push(id, ...fields);
    }
    out.push(entry);
  }
  return out;
}

/**
 * Whether `blob` holds `text` as text: inside a run of at least 8 printable characters, or as
 * the whole blob. Sealed payloads and signatures are random bytes, which hold a short string
 * such as "::1" now and then by chance (about once in 16 million positions).
 */
function holdsText(blob: Buffer, text: string): boolean {
  const printable = (byte: number | undefined) => byte !== undefined && byte >= 0x20 && byte < 0x7f;
  for (let at = blob.indexOf(text); at >= 0; at = blob.indexOf(text, at + 1)) {
    let start = at;
    let end = at + text.length;
    while (printable(blob[start - 1])) start--;
    while (printable(blob[end])) end++;
    if (end - start >= 8 || (start === 0 && end === blob.length)) return true;
  }
  return false;
}

/**
 * Rounds are closed by hand here. Scheduled rounds fall on multiples of the interval on the wall
 * clock: with a minute, a run that straddled one closed a round (and sent held forwards) mid-test.
 */
const HOUR_MS = 3_600_000;

/**
 * Resolves once a relay on Redis has run the round its schedule runs at start: on a busy machine
 * that round came late enough to close (or send) what a test had just deposited.
 */
async function firstRoundRun(relay: RunningRelay): Promise<void> {
  const metrics = relay.relay.ports.metrics as RedisMetrics;
  const deadline = Date.now() + 20_000;
  while ((await metrics.counter(MetricName.roundRuns)) < 1) {
    if (Date.now() > deadline) throw new Error("the relay ran no round");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const BACKENDS = [
  { name: "Redis", start: startRedis },
  { name: "Redis Cluster", start: () => startRedisCluster() },
] as const;

describe.each(BACKENDS)("$name", ({ start }) => {
  let redis: { url: string; stop(): Promise<void> };
  let relay: RunningRelay;
  let client: RedisClient;
  const prefix = uniquePrefix();

  beforeAll(async () => {
    redis = await start();
    client = connectRedis(redis.url);
    relay = await startNodeRelay({
      port: 0,
      redis: { url: redis.url, prefix, masterKey: SecretBytes.random(32) },
      config: { roundIntervalMs: HOUR_MS },
    });
    await firstRoundRun(relay);
  }, 60_000);

  afterAll(async () => {
    await relay?.close();
    client?.disconnect();
    await redis?.stop();
  });

  describe("Redis state at rest", () => {
    it("holds no fine times, no addresses, no raw payloads and no arrival order", async () => {
      const sdk = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
      const { inboxes, plaintexts, pendingInbox, pendingIds } = await atRestTraffic(relay, sdk);
      const arrival = pendingIds.map((id) => `${toHex(pendingInbox.inboxId)}/${toHex(id)}`);

      const state = await dump(client, prefix);
      const buckets = sdk.descriptor.buckets;
      const queueKeys = state.filter((d) => d.key.toString("latin1").startsWith(`{${prefix}:q}`));
      const ours = state.filter((d) => !queueKeys.includes(d));
      expect(ours.length).toBeGreaterThan(40);

      // Nothing carries a TTL (a TTL would date its key); expiry is by day, done by the relay.
      for (const d of ours) expect(d.pttl).toBe(-1);

      // No number that reads as a time finer than a day: no epoch seconds or milliseconds in
      // scores, numeric values or key names (day numbers are ~2e4). Inbox item members start with
      // a 16-digit sequence number and an 8-digit day, checked on their own below.
      const looksLikeTime = (n: number) => n >= 1e9 && n <= 1e13;
      const isItems = (d: Dumped) => d.type === "zset" && d.key.toString().endsWith(":q");
      for (const d of ours) {
        for (const score of d.scores) expect(looksLikeTime(score)).toBe(false);
        // Hex identifiers (inbox ids, message ids, key tags) and the key prefix (random hex:
        // about one in forty holds ten digits in a row) are removed first: their digit runs are
        // not numbers.
        const texts = [d.key, ...(isItems(d) ? [] : d.blobs)].map((b) =>
          b
            .toString("latin1")
            .replaceAll(prefix, "P")
            .replace(/[0-9a-f]{32,}/g, "-"),
        );
        for (const t of texts) {
          const times = (t.match(/\d{10,13}/g) ?? []).filter((run) => looksLikeTime(Number(run)));
          expect(times).toEqual([]);
        }
      }
      const inboxItems = ours.filter(isItems);
      expect(inboxItems.length).toBe(20);
      for (const d of inboxItems) {
        for (const [n, m] of d.members!.entries()) {
          const header = m.subarray(0, 24).toString("latin1");
          expect(header).toMatch(/^\d{24}$/);
          expect(Number(header.slice(0, 16))).toBe(d.scores[n]);
          expect(Number(header.slice(16))).toBeLessThan(1e6);
        }
      }

      // No client addresses anywhere, BullMQ's keys included.
      for (const d of state) {
        for (const blob of [d.key, ...d.blobs]) {
          for (const address of ["127.0.0.1", "::1", "localhost", "::ffff:"]) {
            expect(holdsText(blob, address)).toBe(false);
          }
        }
      }

      // Payloads only as padded items of bucket sizes; no plaintext anywhere.
      const items = [
        ...inboxItems.flatMap((d) => d.members!.map((m) => m.subarray(24))),
        ...ours
          .filter((d) => d.type === "string" && /:r(:\d+)?\}:e:/.test(d.key.toString()))
          .flatMap((d) => d.blobs),
      ];
      expect(items.length).toBe(20 * 4 - 5 * 2 + 30);
      for (const item of items) expect(buckets).toContain(item.length);
      for (const d of state) {
        for (const blob of d.blobs) {
          for (const plaintext of plaintexts) expect(blob.includes(plaintext)).toBe(false);
          expect(blob.includes("pending ")).toBe(false);
        }
      }

      // The pending round lists entries by a random sort key (CSPRNG, drawn at add), which says
      // nothing about arrival (and differs from it); no key reads as a time.
      // The pending inbox's deposits are all in its round shard's open round.
      const opens = ours.filter((d) => /:r(:\d+)?\}:open$/.test(d.key.toString()));
      expect(opens).toHaveLength(1);
      const open = opens[0]!;
      const listed = open.members!.map((m) => m.toString());
      expect([...listed].sort()).toEqual([...arrival].sort());
      expect(listed).not.toEqual(arrival);
      for (const score of open.scores) expect(score).toBeGreaterThanOrEqual(2 ** 52);

      // BullMQ's round queue holds the (public) round schedule only: no inbox ids or payloads.
      const inboxHex = inboxes.map((i) => toHex(i.inboxId));
      for (const d of queueKeys) {
        for (const blob of [d.key, ...d.blobs]) {
          const s = blob.toString("latin1");
          for (const hex of inboxHex) expect(s.includes(hex)).toBe(false);
        }
      }
    });
  });

  describe("Redis federation state at rest", () => {
    it("holds forwards as same-size opaque slots, with no inbox ids, addresses or fine times", async () => {
      const [portA, portB] = [await freePort(), await freePort()];
      const urlA = `http://127.0.0.1:${portA}`;
      const urlB = `http://127.0.0.1:${portB}`;
      const fedPrefix = uniquePrefix();
      // B runs on the embedded store; only A's (the ingress relay's) Redis state is examined.
      const b = await startNodeRelay({
        port: portB,
        keys: new MemoryKeyStore(),
        config: { roundIntervalMs: HOUR_MS, federation: { peers: [urlA] } },
      });
      const a = await startNodeRelay({
        port: portA,
        redis: { url: redis.url, prefix: fedPrefix, masterKey: SecretBytes.random(32) },
        // Rounds are closed by hand: the ingress answers its clients at once, not per round.
        config: {
          roundIntervalMs: HOUR_MS,
          federation: { peers: [urlB], ingressRelease: "immediate" },
        },
      });
      try {
        await firstRoundRun(a);
        const ingress = await RelayClient.connect(urlA, { shaping: ShapingProfiles.off });
        const viaA = await RelayClient.connectVia(urlB, ingress);
        const inboxes: Inbox[] = [];
        for (let i = 0; i < 6; i++) inboxes.push(await createInbox(urlB));
        const messages: string[] = [];
        for (const [i, inbox] of inboxes.entries()) {
          const message = `forwarded secret ${i} ` + "y".repeat(i * 700);
          messages.push(message.slice(0, 30));
          expect((await viaA.deposit(contactCard(inbox), text(message))).status).toBe("forwarded");
        }
        const held = await dump(client, fedPrefix);
        // One batch flush: slots claimed, signed and queued for delivery to B.
        await a.relay.closeRound();
        const flushed = await dump(client, fedPrefix);

        const inboxHex = inboxes.map((i) => toHex(i.inboxId));
        const looksLikeTime = (n: number) => n >= 1e9 && n <= 1e13;
        for (const state of [held, flushed]) {
          const federation = state.filter((d) =>
            d.key.toString("latin1").startsWith(`{${fedPrefix}:f`),
          );
          expect(federation.length).toBeGreaterThan(0);
          for (const d of state) {
            for (const blob of [d.key, ...d.blobs]) {
              const s = blob.toString("latin1");
              // A forward is sealed to B: the ingress relay never holds the inbox it is for.
              for (const hex of inboxHex) expect(s.includes(hex)).toBe(false);
              for (const m of messages) expect(s.includes(m)).toBe(false);
              for (const address of ["127.0.0.2", "::1", "localhost", "::ffff:"]) {
                expect(holdsText(blob, address)).toBe(false);
              }
            }
          }
          // Held and claimed slots are scored 0 and carry no dates; BullMQ's own delivery jobs
          // ({P:fq}) do carry timestamps, as docs/DEPLOYMENT.md documents.
          const ours = federation.filter(
            (d) => !d.key.toString("latin1").startsWith(`{${fedPrefix}:fq}`),
          );
          for (const d of ours) {
            expect(d.pttl).toBe(-1);
            for (const score of d.scores) expect(looksLikeTime(score)).toBe(false);
          }
        }
        // Held forwards are stored as slot strings of one size whatever the message size.
        const slots = held.filter(
          (d) => d.type === "string" && d.key.toString("latin1").includes(":e:"),
        );
        expect(slots.length).toBe(inboxes.length);
        expect(new Set(slots.map((d) => d.blobs[0]!.length)).size).toBe(1);
        const heldSet = held.find((d) => d.key.toString("latin1").endsWith(":h"))!;
        expect(new Set(heldSet.scores)).toEqual(new Set([0]));
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
});
