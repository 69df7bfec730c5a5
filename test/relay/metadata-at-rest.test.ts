/**
 * What a seized Redis reveals: after a scenario with many inboxes, every key, value, TTL and
 * score is dumped and checked against SECURITY.md: no time finer than a day, no client
 * addresses, no payloads as deposited (only padded items of bucket sizes), and no arrival order
 * among pending deposits.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contactCard, createInbox, type Inbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { randomBytes, toHex } from "../../src/protocol/bytes.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { startNodeRelay, type RunningRelay } from "../../src/node.js";
import { startRedis, uniquePrefix, type RedisFixture } from "../fixtures/redis-fixture.js";
import { text } from "./harness.js";

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

async function dump(redis: Redis, prefix: string): Promise<Dumped[]> {
  const keys = await redis.keysBuffer(`*${prefix}*`);
  const out: Dumped[] = [];
  for (const key of keys) {
    const type = await redis.type(key);
    const pttl = await redis.pttl(key);
    const entry: Dumped = { key, type, pttl, blobs: [], scores: [] };
    if (type === "string") entry.blobs.push((await redis.getBuffer(key))!);
    else if (type === "hash") {
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

let redis: RedisFixture;
let relay: RunningRelay;
let client: Redis;
const prefix = uniquePrefix();

beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url);
  relay = await startNodeRelay({
    port: 0,
    redis: { url: redis.url, prefix, masterKey: SecretBytes.random(32) },
    config: { roundIntervalMs: 60_000 },
  });
});

afterAll(async () => {
  await relay?.close();
  client?.disconnect();
  await redis?.stop();
});

describe("Redis state at rest", () => {
  it("holds no fine times, no addresses, no raw payloads and no arrival order", async () => {
    const sdk = await RelayClient.connect(relay.url);
    const inboxes: Inbox[] = [];
    const plaintexts: string[] = [];
    for (let i = 0; i < 20; i++) inboxes.push(await createInbox(relay.url));
    // Delivered items of several sizes, some fetched and acked.
    for (const [i, inbox] of inboxes.entries()) {
      for (let j = 0; j < 4; j++) {
        const message = `secret message ${i}/${j} ` + "x".repeat((i * 397 + j * 1013) % 5000);
        plaintexts.push(message.slice(0, 40));
        expect((await sdk.deposit(contactCard(inbox), text(message))).status).toBe("accepted");
      }
    }
    await relay.relay.closeRound();
    for (const inbox of inboxes.slice(0, 5)) await sdk.ack(inbox, 2);
    // A pending round: 30 deposits into one inbox, in an arrival order the test knows.
    const pendingInbox = inboxes[7]!;
    const arrival: string[] = [];
    for (let k = 0; k < 30; k++) {
      const messageId = randomBytes(16);
      arrival.push(`${toHex(pendingInbox.inboxId)}/${toHex(messageId)}`);
      await sdk.deposit(contactCard(pendingInbox), text(`pending ${k}`), { messageId });
    }
    await relay.relay.maintain();

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
      // Hex identifiers (inbox ids, message ids, key tags) are removed first: their digit runs
      // are not numbers.
      const texts = [d.key, ...(isItems(d) ? [] : d.blobs)].map((b) =>
        b.toString("latin1").replace(/[0-9a-f]{32,}/g, "-"),
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
          expect(blob.includes(address)).toBe(false);
        }
      }
    }

    // Payloads only as padded items of bucket sizes; no plaintext anywhere.
    const items = [
      ...inboxItems.flatMap((d) => d.members!.map((m) => m.subarray(24))),
      ...ours
        .filter((d) => d.type === "string" && d.key.toString().includes(":r}:e:"))
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

    // The pending round lists entries by name only: Redis' order is the sorted order, which
    // says nothing about arrival (and differs from it).
    const open = ours.find((d) => d.key.toString() === `{${prefix}:r}:open`)!;
    const listed = open.members!.map((m) => m.toString());
    expect(listed).toEqual([...arrival].sort());
    expect(listed).not.toEqual(arrival);
    expect(new Set(open.scores)).toEqual(new Set([0]));

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
