/**
 * The one conformance suite every backend's storage ports must pass (memory, Redis, Workers).
 * Call `describePortConformance` from a test file with a factory for fresh ports. Deposits are
 * tested through the intake a relay on those ports uses (`depositIntakeFor`): the backend's own
 * one-step deposit where it has one (one Redis server), else the composition of its ports.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { randomBytes, toHex } from "../../src/protocol/bytes.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { generateKeyRing, rotateKeyRing } from "../../src/relay/key-ring.js";
import type { DepositIntake, ReplayRecord } from "../../src/relay/ports/deposit-intake.js";
import type { InboxStore, RoundEntry } from "../../src/relay/ports/inbox-store.js";
import type { KeyStore } from "../../src/relay/ports/key-store.js";
import type { ReplaySet } from "../../src/relay/ports/replay-set.js";
import { MemoryMetrics } from "../../src/adapters/memory/memory-metrics.js";
import { systemClock } from "../../src/relay/ports/clock.js";
import type { PageLimit, RoundPool } from "../../src/relay/ports/round-pool.js";
import { RoundCloser } from "../../src/relay/round-closer.js";
import { depositIntakeFor } from "../../src/relay/stepwise-deposit-intake.js";

export interface ConformancePorts {
  inboxes: InboxStore;
  pool: RoundPool;
  replay: ReplaySet;
  deposits?: DepositIntake;
  keys: KeyStore;
}

export interface ConformanceOptions {
  /**
   * Fresh ports whose store holds at most `maxInboxes` inboxes, for the cap's cases; left out
   * where the cap is not exact right away (a Redis Cluster reads its inbox count once a second).
   */
  capped?: (maxInboxes: number) => Promise<ConformancePorts>;
}

const DAY = 20_000;
const quota = { stored: { items: 0, bytes: 0 }, maxItems: 100, maxBytes: 1 << 20 };
/** A page larger than any round these tests make. */
const WHOLE = { entries: 1000, bytes: 1 << 24 };

function entry(inboxId: Uint8Array, size = 64): RoundEntry {
  return { inboxId, messageId: randomBytes(16), item: randomBytes(size) };
}

const id = () => randomBytes(32);

export function describePortConformance(
  backend: string,
  makePorts: () => Promise<ConformancePorts>,
  options: ConformanceOptions = {},
): void {
  describe(`${backend}: inbox store`, () => {
    let store: InboxStore;
    beforeEach(async () => {
      store = (await makePorts()).inboxes;
    });

    /** Admits a deposit and expects an ordinary admission (no cap reached). */
    const admit = async (inbox: Uint8Array, messageId: Uint8Array = randomBytes(16), day = DAY) => {
      const admission = await store.admit(inbox, messageId, day);
      if (admission === "full") throw new Error("store unexpectedly full");
      return admission;
    };

    it("creates an inbox on its first admission and reports what it holds", async () => {
      const inbox = id();
      expect(await admit(inbox)).toEqual({
        created: true,
        duplicate: false,
        stored: { items: 0, bytes: 0 },
      });
      await store.appendRound([entry(inbox), entry(inbox)], DAY);
      expect(await admit(inbox)).toEqual({
        created: false,
        duplicate: false,
        stored: { items: 2, bytes: 128 },
      });
    });

    it("appends in the given order with per-inbox sequence numbers", async () => {
      const a = id();
      const b = id();
      await admit(a);
      await admit(b);
      const entries = [entry(a), entry(b), entry(a), entry(a)];
      await store.appendRound(entries, DAY);
      const fetched = await store.fetch(a, 0, 10);
      expect(fetched?.items.map((i) => i.seq)).toEqual([1, 2, 3]);
      expect(fetched?.items.map((i) => toHex(i.item))).toEqual(
        [entries[0]!, entries[2]!, entries[3]!].map((e) => toHex(e.item)),
      );
      expect((await store.fetch(b, 0, 10))?.items.map((i) => i.seq)).toEqual([1]);
      expect(await store.usage(a)).toEqual({ items: 3, bytes: 3 * 64 });
    });

    it("skips message ids it already holds, so a round appended twice delivers once", async () => {
      const a = id();
      await admit(a);
      const round = [entry(a), entry(a)];
      // Each call says how many it appended, so a round delivered twice is counted once.
      expect(await store.appendRound(round, DAY)).toBe(2);
      expect(await store.appendRound(round, DAY)).toBe(0);
      expect((await store.fetch(a, 0, 10))?.items).toHaveLength(2);
      expect((await admit(a, round[0]!.messageId)).duplicate).toBe(true);
      expect((await admit(a, randomBytes(16))).duplicate).toBe(false);
    });

    it("drops entries for inboxes that do not exist", async () => {
      const ghost = id();
      expect(await store.appendRound([entry(ghost)], DAY)).toBe(0);
      expect(await store.fetch(ghost, 0, 10)).toBeUndefined();
      expect(await store.usage(ghost)).toEqual({ items: 0, bytes: 0 });
    });

    it("fetches after a sequence number, bounded, with a more flag", async () => {
      const a = id();
      await admit(a);
      await store.appendRound([entry(a), entry(a), entry(a), entry(a), entry(a)], DAY);
      const page = await store.fetch(a, 1, 2);
      expect(page?.items.map((i) => i.seq)).toEqual([2, 3]);
      expect(page?.more).toBe(true);
      const rest = await store.fetch(a, 3, 10);
      expect(rest?.items.map((i) => i.seq)).toEqual([4, 5]);
      expect(rest?.more).toBe(false);
      expect(await store.fetch(id(), 0, 10)).toBeUndefined();
    });

    it("acks up to a sequence number; numbers are never reused; ids stay known", async () => {
      const a = id();
      await admit(a);
      const first = [entry(a), entry(a), entry(a)];
      await store.appendRound(first, DAY);
      expect(await store.ack(a, 2)).toBe(2);
      expect(await store.ack(a, 2)).toBe(0);
      expect(await store.ack(id(), 2)).toBeUndefined();
      expect(await store.usage(a)).toEqual({ items: 1, bytes: 64 });
      expect((await admit(a, first[0]!.messageId)).duplicate).toBe(true);
      await store.appendRound([first[0]!, entry(a)], DAY);
      expect((await store.fetch(a, 0, 10))?.items.map((i) => i.seq)).toEqual([3, 4]);
    });

    it("expires items, message ids and idle inboxes by day", async () => {
      const a = id();
      await admit(a);
      const old = entry(a);
      await store.appendRound([old], DAY);
      await store.appendRound([entry(a)], DAY + 2);
      await store.expire(DAY + 1);
      expect((await store.fetch(a, 0, 10))?.items.map((i) => i.seq)).toEqual([2]);
      expect((await admit(a, old.messageId, DAY)).duplicate).toBe(false);
      await store.expire(DAY + 3);
      expect(await store.fetch(a, 0, 10)).toBeUndefined();
      expect((await admit(a, randomBytes(16), DAY + 3)).created).toBe(true);
    });

    it("extends an inbox's expiry with each admission", async () => {
      const a = id();
      await admit(a, randomBytes(16), DAY);
      await admit(a, randomBytes(16), DAY + 5);
      await store.expire(DAY + 3);
      expect(await store.fetch(a, 0, 10)).toEqual({ items: [], more: false });
    });

    it("returns copies: mutating a fetched item changes nothing stored", async () => {
      const a = id();
      await admit(a);
      const e = entry(a);
      await store.appendRound([e], DAY);
      const first = await store.fetch(a, 0, 1);
      first!.items[0]!.item.fill(0);
      expect(toHex((await store.fetch(a, 0, 1))!.items[0]!.item)).toBe(toHex(e.item));
    });
  });

  describe(`${backend}: round pool`, () => {
    let pool: RoundPool;
    beforeEach(async () => {
      pool = (await makePorts()).pool;
    });

    it("adds, refuses a pending duplicate, and closes the round whole", async () => {
      const a = id();
      const e1 = entry(a);
      const e2 = entry(a);
      expect(await pool.add(e1, quota)).toBe("added");
      expect(await pool.add(e2, quota)).toBe("added");
      expect(await pool.add({ ...e1, item: randomBytes(8) }, quota)).toBe("duplicate");
      const round = await pool.close();
      expect((await pool.page(round!, WHOLE)).map((e) => toHex(e.item)).sort()).toEqual(
        [e1, e2].map((e) => toHex(e.item)).sort(),
      );
      expect(await pool.close()).toBeUndefined();
    });

    it("treats an entry in a closed, unreleased round as a duplicate", async () => {
      const e = entry(id());
      expect(await pool.add(e, quota)).toBe("added");
      const round = await pool.close();
      expect(await pool.add(e, quota)).toBe("duplicate");
      expect(await pool.release(round!, await pool.page(round!, WHOLE))).toBe(true);
      expect(await pool.close()).toBeUndefined();
      expect(await pool.add(e, quota)).toBe("added");
    });

    it("keeps a closed round until every entry is released", async () => {
      await pool.add(entry(id()), quota);
      await pool.add(entry(id()), quota);
      const round = await pool.close();
      expect(await pool.unreleased()).toEqual([round!]);
      await pool.add(entry(id()), quota);
      const next = await pool.close();
      expect((await pool.unreleased()).sort()).toEqual([round!, next!].sort());
      const [first, second] = await pool.page(round!, WHOLE);
      expect(await pool.release(round!, [first!])).toBe(false);
      expect((await pool.unreleased()).sort()).toEqual([round!, next!].sort());
      expect(await pool.page(round!, WHOLE)).toHaveLength(1);
      expect(await pool.release(round!, [second!])).toBe(true);
      expect(await pool.unreleased()).toEqual([next!]);
      expect(await pool.page(round!, WHOLE)).toEqual([]);
    });

    it("enforces item and byte quotas over stored plus pending", async () => {
      const a = id();
      const limits = { stored: { items: 1, bytes: 100 }, maxItems: 3, maxBytes: 250 };
      expect(await pool.add(entry(a, 100), limits)).toBe("added");
      await pool.close();
      // Closed but unreleased entries still count: they are not stored yet.
      expect(await pool.add(entry(a, 100), limits)).toBe("quota");
      expect(await pool.add(entry(a, 50), limits)).toBe("added");
      expect(await pool.add(entry(a, 1), { ...limits, maxBytes: 1000 })).toBe("quota");
      expect(await pool.add(entry(id(), 10), limits)).toBe("added");
    });
  });

  describe(`${backend}: round pool pages`, () => {
    let ports: ConformancePorts;
    beforeEach(async () => {
      ports = await makePorts();
    });

    const SMALL: PageLimit = { entries: 7, bytes: 1 << 20 };
    const closer = (page = SMALL) =>
      new RoundCloser(ports.pool, ports.inboxes, systemClock, new MemoryMetrics(), 7, page);

    /** `perInbox` entries for each of `count` fresh inboxes, added to the open round. */
    async function pendingRound(count: number, perInbox: number) {
      const inboxes = Array.from({ length: count }, id);
      for (const inbox of inboxes) await ports.inboxes.admit(inbox, randomBytes(16), DAY);
      const entries = inboxes.flatMap((inbox) =>
        Array.from({ length: perInbox }, () => entry(inbox, 16)),
      );
      const limits = { ...quota, maxItems: 1000 };
      for (const e of entries) expect(await ports.pool.add(e, limits)).toBe("added");
      return { inboxes, entries };
    }

    /** Each inbox holds exactly its entries, each once, with seqs 1..n. */
    async function expectDeliveredOnce(inboxes: Uint8Array[], entries: RoundEntry[]) {
      for (const inbox of inboxes) {
        const page = await ports.inboxes.fetch(inbox, 0, 1000);
        const items = page?.items ?? [];
        expect(items.map((i) => i.seq)).toEqual(items.map((_, k) => k + 1));
        expect(items.map((i) => toHex(i.item)).sort()).toEqual(
          entries
            .filter((e) => toHex(e.inboxId) === toHex(inbox))
            .map((e) => toHex(e.item))
            .sort(),
        );
      }
    }

    it("delivers a round of several pages whole, each entry once", async () => {
      const { inboxes, entries } = await pendingRound(3, 15);
      await closer().close();
      await expectDeliveredOnce(inboxes, entries);
      expect(await ports.pool.unreleased()).toEqual([]);
      expect(await ports.pool.close()).toBeUndefined();
    });

    it("pages a round within the limits, each entry once, in an order that is not arrival's", async () => {
      const { entries } = await pendingRound(2, 20);
      const round = (await ports.pool.close())!;
      const seen: string[] = [];
      for (;;) {
        const page = await ports.pool.page(round, SMALL);
        expect(page.length).toBeLessThanOrEqual(SMALL.entries);
        seen.push(...page.map((e) => toHex(e.item)));
        if (await ports.pool.release(round, page)) break;
        // Every page but the last is full.
        expect(page).toHaveLength(SMALL.entries);
      }
      expect([...seen].sort()).toEqual(entries.map((e) => toHex(e.item)).sort());
      // 40 entries: arrival order by chance has probability 1/40!.
      expect(seen).not.toEqual(entries.map((e) => toHex(e.item)));
      // A page holds at most `bytes` bytes of items, but always one entry.
      await pendingRound(1, 5);
      const next = (await ports.pool.close())!;
      expect(await ports.pool.page(next, { entries: 10, bytes: 40 })).toHaveLength(2);
      expect(await ports.pool.page(next, { entries: 10, bytes: 1 })).toHaveLength(1);
    });

    it("a closer that dies after some pages leaves the rest for the next close", async () => {
      const { inboxes, entries } = await pendingRound(4, 10);
      const round = (await ports.pool.close())!;
      const expiresDay = DAY;
      // The dying closer: two pages appended and released, a third appended, then it is gone.
      for (let n = 0; n < 2; n++) {
        const page = await ports.pool.page(round, SMALL);
        await ports.inboxes.appendRound(page, expiresDay);
        expect(await ports.pool.release(round, page)).toBe(false);
      }
      await ports.inboxes.appendRound(await ports.pool.page(round, SMALL), expiresDay);
      expect(await ports.pool.unreleased()).toEqual([round]);
      // New deposits meanwhile go to the next round.
      const late = inboxes.map((inbox) => entry(inbox, 16));
      for (const e of late) expect(await ports.pool.add(e, quota)).toBe("added");

      await closer().close();
      await expectDeliveredOnce(inboxes, [...entries, ...late]);
      expect(await ports.pool.unreleased()).toEqual([]);
    });

    it("release takes the entries off the pending usage", async () => {
      const a = id();
      await ports.inboxes.admit(a, randomBytes(16), DAY);
      const limits = { stored: { items: 0, bytes: 0 }, maxItems: 10, maxBytes: 10 * 100 };
      for (let n = 0; n < 10; n++)
        expect(await ports.pool.add(entry(a, 100), limits)).toBe("added");
      const round = (await ports.pool.close())!;
      expect(await ports.pool.add(entry(a, 100), limits)).toBe("quota");
      const page = await ports.pool.page(round, { entries: 4, bytes: 1 << 20 });
      expect(await ports.pool.release(round, page)).toBe(false);
      // Releasing the same page again releases nothing more.
      expect(await ports.pool.release(round, page)).toBe(false);
      for (let n = 0; n < 4; n++) expect(await ports.pool.add(entry(a, 100), limits)).toBe("added");
      expect(await ports.pool.add(entry(a, 100), limits)).toBe("quota");
      expect(await ports.pool.add(entry(a, 1), { ...limits, maxItems: 100 })).toBe("quota");
    });
  });

  describe(`${backend}: deposit intake`, () => {
    let ports: ConformancePorts;
    let intake: DepositIntake;
    beforeEach(async () => {
      ports = await makePorts();
      intake = depositIntakeFor(ports);
    });

    const limits = { maxItems: 100, maxBytes: 1 << 20 };
    const record = (): ReplayRecord => ({ keyTag: toHex(randomBytes(8)), enc: randomBytes(32) });
    const deposit = (e: RoundEntry, more: { replay?: ReplayRecord; day?: number } = {}) =>
      intake.deposit({ entry: e, expiresDay: more.day ?? DAY, limits, replay: more.replay });
    const held = async (inbox: Uint8Array) =>
      (await ports.inboxes.fetch(inbox, 0, 1000))?.items.map((i) => toHex(i.item));
    /** Closes the open round and appends it to its inboxes. */
    const deliver = () =>
      new RoundCloser(ports.pool, ports.inboxes, systemClock, new MemoryMetrics(), 7).close();

    it("creates the inbox and adds the deposit to the open round; the close delivers it", async () => {
      const a = id();
      const e = entry(a);
      expect(await deposit(e)).toBe("added");
      // The inbox exists at once; its item only once the round closes.
      expect(await held(a)).toEqual([]);
      expect(await ports.inboxes.usage(a)).toEqual({ items: 0, bytes: 0 });
      expect(await deposit(entry(a))).toBe("added");
      await deliver();
      expect(await held(a)).toHaveLength(2);
      expect(await held(a)).toContain(toHex(e.item));
    });

    it("records the replay record in the same step; a replay changes nothing", async () => {
      const [a, b] = [id(), id()];
      const first = record();
      const e = entry(a);
      expect(await deposit(e, { replay: first })).toBe("added");
      expect(await ports.replay.has(first.keyTag, first.enc)).toBe(true);
      // Replayed: to a new inbox, and as it was. Neither creates nor adds anything.
      expect(await deposit(entry(b), { replay: first })).toBe("replay");
      expect(await deposit(e, { replay: first })).toBe("replay");
      expect(await held(b)).toBeUndefined();
      await deliver();
      expect(await held(a)).toEqual([toHex(e.item)]);
      expect(await held(b)).toBeUndefined();
      // Another record under the same key is no replay.
      expect(await deposit(entry(a), { replay: { ...first, enc: randomBytes(32) } })).toBe("added");
    });

    it("answers a pending or delivered message id as a duplicate, recording its replay record", async () => {
      const a = id();
      const e = entry(a);
      expect(await deposit(e)).toBe("added");
      const pending = record();
      expect(await deposit({ ...e, item: randomBytes(8) }, { replay: pending })).toBe("duplicate");
      expect(await ports.replay.has(pending.keyTag, pending.enc)).toBe(true);
      await deliver();
      const delivered = record();
      expect(await deposit({ ...e, item: randomBytes(8) }, { replay: delivered })).toBe(
        "duplicate",
      );
      expect(await ports.replay.has(delivered.keyTag, delivered.enc)).toBe(true);
      await deliver();
      expect(await held(a)).toEqual([toHex(e.item)]);
    });

    it("holds the inbox to its quota over stored plus pending; a refusal keeps only its record", async () => {
      const a = id();
      const tight = { maxItems: 3, maxBytes: 1000 };
      const put = (e: RoundEntry, replay?: ReplayRecord) =>
        intake.deposit({ entry: e, expiresDay: DAY, limits: tight, replay });
      expect(await put(entry(a, 300))).toBe("added");
      expect(await put(entry(a, 300))).toBe("added");
      await deliver();
      // Stored: 2 items, 600 bytes. Pending from here on counts as well.
      expect(await put(entry(a, 300))).toBe("added");
      const refused = record();
      expect(await put(entry(a, 300), refused)).toBe("quota");
      expect(await ports.replay.has(refused.keyTag, refused.enc)).toBe(true);
      expect(await put(entry(a, 10))).toBe("quota");
      await deliver();
      expect(await held(a)).toHaveLength(3);
      expect(await ports.inboxes.usage(a)).toEqual({ items: 3, bytes: 900 });
    });

    it("registers each inbox for expiry, extended by each deposit", async () => {
      const [a, b] = [id(), id()];
      expect(await deposit(entry(a), { day: DAY })).toBe("added");
      expect(await deposit(entry(b), { day: DAY })).toBe("added");
      expect(await deposit(entry(b), { day: DAY + 5 })).toBe("added");
      await ports.inboxes.expire(DAY + 3);
      expect(await held(a)).toBeUndefined();
      expect(await held(b)).toEqual([]);
    });

    const capped = options.capped;
    it.skipIf(!capped)(
      "refuses a new inbox at the inbox cap, changing nothing but the replay record",
      async () => {
        ports = await capped!(2);
        intake = depositIntakeFor(ports);
        const [a, b, c] = [id(), id(), id()];
        expect(await deposit(entry(a))).toBe("added");
        expect(await deposit(entry(b))).toBe("added");
        const refused = record();
        expect(await deposit(entry(c), { replay: refused })).toBe("full");
        expect(await ports.replay.has(refused.keyTag, refused.enc)).toBe(true);
        expect(await held(c)).toBeUndefined();
        // Inboxes that exist still take deposits.
        expect(await deposit(entry(a))).toBe("added");
        await deliver();
        expect(await held(a)).toHaveLength(2);
        expect(await held(c)).toBeUndefined();
      },
    );
  });

  describe(`${backend}: replay set`, () => {
    let replay: ReplaySet;
    beforeEach(async () => {
      replay = (await makePorts()).replay;
    });

    it("remembers each enc per key until the key is forgotten", async () => {
      const enc = randomBytes(32);
      expect(await replay.has("k1", enc)).toBe(false);
      expect(await replay.add("k1", enc)).toBe(true);
      expect(await replay.has("k1", enc)).toBe(true);
      expect(await replay.has("k2", enc)).toBe(false);
      expect(await replay.add("k1", enc)).toBe(false);
      expect(await replay.add("k2", enc)).toBe(true);
      expect(await replay.add("k1", randomBytes(32))).toBe(true);
      await replay.forget("k1");
      expect(await replay.add("k1", enc)).toBe(true);
      // Records are compared whole: a long shared prefix does not make two records one.
      const prefix = new TextEncoder().encode("https://a.example ");
      const first = new Uint8Array([...prefix, ...randomBytes(16)]);
      const second = new Uint8Array([...prefix, ...randomBytes(16)]);
      expect(await replay.add("batch", first)).toBe(true);
      expect(await replay.has("batch", second)).toBe(false);
      expect(await replay.add("batch", second)).toBe(true);
      expect(await replay.add("k2", enc)).toBe(false);
    });
  });

  describe(`${backend}: key store creation`, () => {
    it("creates a ring once: a second create returns the first ring", async () => {
      const { keys } = await makePorts();
      const first = await generateKeyRing(1_700_000_000_000);
      const second = await generateKeyRing(1_700_000_000_000);
      expect(toHex((await keys.create(first)).signing.publicKey)).toBe(
        toHex(first.signing.publicKey),
      );
      const raced = await keys.create(second);
      expect(toHex(raced.signing.publicKey)).toBe(toHex(first.signing.publicKey));
      expect(toHex((await keys.load())!.signing.publicKey)).toBe(toHex(first.signing.publicKey));
    });
  });

  describe(`${backend}: key store`, () => {
    let keys: KeyStore;
    beforeEach(async () => {
      keys = (await makePorts()).keys;
    });

    it("stores and returns the key ring, secrets included", async () => {
      expect(await keys.load()).toBeUndefined();
      const ring = await generateKeyRing(1_700_000_000_000);
      await keys.save(ring);
      const loaded = await keys.load();
      expect(toHex(loaded!.signing.publicKey)).toBe(toHex(ring.signing.publicKey));
      expect(toHex(loaded!.signing.privateKeyPkcs8.expose())).toBe(
        toHex(ring.signing.privateKeyPkcs8.expose()),
      );
      expect(loaded!.signing.privateKeyPkcs8).toBeInstanceOf(SecretBytes);
      const { ring: rotated } = await rotateKeyRing(ring, 1_700_000_100_000, 1000);
      await keys.save(rotated);
      const again = await keys.load();
      expect(again!.hpke.map((k) => k.keyId)).toEqual(rotated.hpke.map((k) => k.keyId));
      expect(again!.hpke.map((k) => [k.keyId, k.retireAt, toHex(k.privateKey.expose())])).toEqual(
        rotated.hpke.map((k) => [k.keyId, k.retireAt, toHex(k.privateKey.expose())]),
      );
    });
  });
}
