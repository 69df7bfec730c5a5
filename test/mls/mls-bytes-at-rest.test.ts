/**
 * What the relay stores while a group lives (create, add, messages, a commit race, a remove, an
 * invitation nobody picked up) holds no MLS bytes: not the group id, no MLSMessage header of a
 * PrivateMessage, Welcome or KeyPackage, no KeyPackage or its keys, no member name. Run on the
 * embedded (memory) backend and on Redis, dumping everything each stores.
 */
import { Redis } from "ioredis";
import { encodeGroupState } from "ts-mls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyValues, prefixKeys } from "../../src/adapters/redis/redis-prefix.js";
import { decodeInvitation } from "../../src/client/mls/group-invitation.js";
import { loadWelcome } from "../../src/client/mls/welcome-blob.js";
import { openGroupPayload } from "../../src/client/mls/group-payload.js";
import type { GroupSession } from "../../src/client/mls/group-session.js";
import { decodeKeyPackage, Member } from "../../src/client/mls/member.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { fromHex, randomBytes, toHex, utf8 } from "../../src/protocol/bytes.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { startNodeRelay, type RunningRelay } from "../../src/node.js";
import { startRedis, uniquePrefix, type RedisFixture } from "../../testkit/redis-fixture.js";
import { startTestRelay, type TestRelay } from "../../testkit/test-relay.js";
import { buildGroup, mlsState, recordCommitDeposits, savedReadings } from "./support.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

interface Needle {
  what: string;
  bytes: Uint8Array;
}

/** MLSMessage headers: version mls10 (0x0001), wireformat, and the next fixed field. */
const HEADERS = {
  // then group_id<V> of 32 bytes: varint 0x20
  private: new Uint8Array([0x00, 0x01, 0x00, 0x02, 0x20]),
  // then cipher_suite 1
  welcome: new Uint8Array([0x00, 0x01, 0x00, 0x03, 0x00, 0x01]),
  // then version mls10 and cipher_suite 1 inside the KeyPackage
  keyPackage: new Uint8Array([0x00, 0x01, 0x00, 0x05, 0x00, 0x01, 0x00, 0x01]),
};

const startsWith = (bytes: Uint8Array, prefix: Uint8Array) =>
  Buffer.from(bytes.subarray(0, prefix.length)).equals(Buffer.from(prefix));

/** Which needles occur in which blobs (as bytes, and as hex text for the longer ones). */
function occurrences(needles: Needle[], blobs: Uint8Array[]): string[] {
  const found: string[] = [];
  const buffers = blobs.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  for (const needle of needles) {
    const raw = Buffer.from(needle.bytes);
    const asHex =
      needle.bytes.length >= 16 ? Buffer.from(toHex(needle.bytes), "latin1") : undefined;
    const asBase64 =
      needle.bytes.length >= 16
        ? Buffer.from(Buffer.from(needle.bytes).toString("base64").slice(0, 20), "latin1")
        : undefined;
    if (
      buffers.some(
        (b) =>
          b.includes(raw) || (asHex && b.includes(asHex)) || (asBase64 && b.includes(asBase64)),
      )
    ) {
      found.push(needle.what);
    }
  }
  return found;
}

interface ScenarioResult {
  needles: Needle[];
  /** MLS bytes the members exchanged (opened from the relay with members' keys): a control. */
  exchanged: Uint8Array[];
}

/**
 * The scenario, against a relay reached by `client`. Names are long and random so that a match
 * in stored ciphertext could not be chance.
 */
async function scenario(client: RelayClient): Promise<ScenarioResult> {
  const tag = toHex(randomBytes(4));
  const names = ["alice", "bob", "carol", "erin"].map((n) => `${n}.at-rest.${tag}`);
  const deps = { route: async () => client, pollMs: 5 };
  const recorder = recordCommitDeposits(client);
  const { sessions, cards } = await buildGroup(client, names, deps, `group ${tag}`);
  const [alice, bob, carol, erin] = sessions as [
    GroupSession,
    GroupSession,
    GroupSession,
    GroupSession,
  ];
  await alice.send("hello from alice");
  await bob.sync();
  await bob.send("hello from bob");
  for (const s of sessions) await s.sync();
  // A commit race among three.
  recorder.setGate(3);
  const outcomes = await Promise.all([alice.change({}), bob.change({}), carol.change({})]);
  expect(outcomes.map((o) => o.status)).toEqual(["committed", "committed", "committed"]);
  // Three commits of one epoch went in: one won, the others were retried in later epochs.
  expect(recorder.log.length).toBeGreaterThan(3);
  await erin.sync();
  // Dave is added and never picks up his invitation: the Welcome stays at the relay.
  const dave = await Member.create(`dave.at-rest.${tag}`, client.origin, undefined, 1);
  const daveCard = dave.card();
  expect(await erin.change({ add: [daveCard] })).toMatchObject({ status: "committed" });
  for (const s of [alice, bob, carol]) await s.sync();
  expect(await alice.change({ remove: [names[2]!] })).toMatchObject({ status: "committed" });
  await bob.sync();
  await bob.send("after the remove");
  await erin.sync();

  // Control material: what the members exchanged, opened with a member's keys.
  const exchanged: Uint8Array[] = [];
  for (const r of await savedReadings(bob)) {
    const page = await client.fetchAllItems({
      readSecret: new SecretBytes(r.readSecret),
      writeTokenHash: r.writeTokenHash,
    });
    if (page.status !== "ok") continue;
    for (const item of page.items) {
      const opened = await openGroupPayload(r.payloadKey, r.inboxId, item.payload, client.padding);
      expect(startsWith(opened.mlsMessage, HEADERS.private)).toBe(true);
      exchanged.push(opened.mlsMessage);
    }
  }
  expect(exchanged.length).toBeGreaterThanOrEqual(3);
  const invitations = await client.fetchAll(dave.inbox);
  if (invitations.status !== "ok") throw new Error(invitations.status);
  expect(invitations.messages).toHaveLength(1);
  const blob = decodeInvitation(invitations.messages[0]!.payload).welcome;
  const welcome = await loadWelcome(client, blob);
  if (!welcome) throw new Error("the invitation's Welcome is not on the relay");
  expect(startsWith(welcome, HEADERS.welcome)).toBe(true);
  exchanged.push(welcome);

  const state = mlsState(alice);
  const groupId = state.groupContext.groupId;
  expect(groupId.length).toBe(32);
  const needles: Needle[] = [
    { what: "group id", bytes: groupId },
    { what: "PrivateMessage header", bytes: HEADERS.private },
    { what: "Welcome header", bytes: HEADERS.welcome },
    { what: "KeyPackage header", bytes: HEADERS.keyPackage },
    { what: "the Welcome", bytes: welcome },
    ...exchanged.map((bytes, i) => ({ what: `MLS message ${i}`, bytes })),
  ];
  for (const name of [...names, dave.name])
    needles.push({ what: `name ${name}`, bytes: utf8(name) });
  for (const [i, card] of [...cards, daveCard].entries()) {
    for (const encoded of card.keyPackages ?? []) {
      expect(startsWith(encoded, HEADERS.keyPackage)).toBe(true);
      const kp = decodeKeyPackage(encoded);
      needles.push(
        { what: `key package ${i}`, bytes: encoded },
        { what: `key package ${i} init key`, bytes: kp.initKey },
        { what: `key package ${i} HPKE key`, bytes: kp.leafNode.hpkePublicKey },
        { what: `key package ${i} signature key`, bytes: kp.leafNode.signaturePublicKey },
      );
    }
  }
  // Every member's leaf keys, as the ratchet tree holds them.
  for (const node of state.ratchetTree) {
    if (node?.nodeType !== "leaf") continue;
    needles.push(
      { what: `leaf HPKE key ${toHex(node.leaf.hpkePublicKey)}`, bytes: node.leaf.hpkePublicKey },
      {
        what: `leaf signature key ${toHex(node.leaf.signaturePublicKey)}`,
        bytes: node.leaf.signaturePublicKey,
      },
    );
  }
  // Every needle is in what the members exchanged or hold (the search can find them) ...
  const held = [
    ...exchanged,
    ...[...cards, daveCard].flatMap((c) => c.keyPackages ?? []),
    encodeGroupState(state),
  ];
  const heldNames = [utf8(names.join(" ") + " " + dave.name)];
  expect(occurrences(needles, [...held, ...heldNames]).sort()).toEqual(
    needles.map((n) => n.what).sort(),
  );
  return { needles, exchanged };
}

describe("no MLS bytes at rest", () => {
  it("on the embedded (memory) backend", async () => {
    const relay: TestRelay = await startTestRelay({ roundIntervalMs: 0 });
    try {
      const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
      const { needles } = await scenario(client);
      const text = relay.ports.inboxes.snapshot() + relay.ports.pool.snapshot();
      // The snapshot holds bytes as hex: decode every hex run back to bytes as well.
      const hexRuns = (text.match(/[0-9a-f]{2,}/g) ?? []).filter((h) => h.length % 2 === 0);
      const stored = hexRuns.map(fromHex);
      expect(stored.reduce((n, b) => n + b.length, 0)).toBeGreaterThan(10_000);
      const blobs = [utf8(text), ...stored, ...relay.logs.map(utf8)];
      expect(occurrences(needles, blobs)).toEqual([]);
    } finally {
      await relay.close();
    }
  });

  describe("on Redis", () => {
    let redis: RedisFixture;
    let reader: Redis;
    beforeAll(async () => {
      redis = await startRedis();
      reader = new Redis(redis.url);
    });
    afterAll(async () => {
      reader?.disconnect();
      await redis?.stop();
    });

    it("every key and value under the relay's prefix", async () => {
      const prefix = uniquePrefix();
      const relay: RunningRelay = await startNodeRelay({
        port: 0,
        redis: { url: redis.url, prefix, masterKey: SecretBytes.random(32) },
        config: { roundIntervalMs: 0 },
      });
      try {
        const client = await RelayClient.connect(relay.url, { shaping: ShapingProfiles.off });
        const { needles } = await scenario(client);
        const blobs: Uint8Array[] = [];
        const keys = await prefixKeys(reader, prefix);
        expect(keys.length).toBeGreaterThan(10);
        for (const key of keys) {
          const { type, values } = await keyValues(reader, key);
          if (!["string", "hash", "set", "list", "zset", "stream"].includes(type)) {
            throw new Error(`unexpected Redis type ${type}`);
          }
          blobs.push(key, ...values);
        }
        expect(blobs.reduce((n, b) => n + b.length, 0)).toBeGreaterThan(10_000);
        expect(occurrences(needles, blobs)).toEqual([]);
      } finally {
        await relay.close();
      }
    });
  });
});
