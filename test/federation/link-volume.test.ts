/**
 * Constant link volume: once per round the link A -> B carries one batch of `slotsPerBatch`
 * slots padded with cover, and more batches of the same size only when real traffic exceeds a
 * batch. Observed on the wire (A's outbound HTTP) with 0, 1, 16, 100 and again 0 real
 * forwarded deposits per round, on the embedded store and on two Redis servers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contactCard, createInbox, type Inbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { signBatch, verifyBatch, type Batch } from "../../src/protocol/federation-batch.js";
import { DEFAULT_FEDERATION } from "../../src/relay/relay-config.js";
import {
  freePort,
  startRedis,
  uniquePrefix,
  type RedisFixture,
} from "../fixtures/redis-fixture.js";
import {
  drainLink,
  newMasterKey,
  startRelay,
  text,
  untext,
  type Backend,
  type TestRelay,
  type WireBatch,
} from "./support.js";

const { slotCapacity } = DEFAULT_FEDERATION;
/** Large enough for every batch shape this file sends (up to 128 slots). */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;
const FAST = { maxAttempts: 20, baseDelayMs: 50, maxDelayMs: 200 };
/** Real forwarded deposits in each round, in order. */
const ROUNDS = [0, 1, 16, 100, 0];

interface Observed {
  real: number;
  batches: WireBatch[];
  decoded: Batch[];
}

function scenario(
  name: string,
  backendA: () => Backend,
  backendB: () => Backend,
  slotsPerBatch = DEFAULT_FEDERATION.slotsPerBatch,
) {
  describe(`link volume (${name}, ${slotsPerBatch} slots a batch)`, () => {
    const relays: TestRelay[] = [];
    const rounds: Observed[] = [];
    let a: TestRelay;
    let b: TestRelay;
    let inbox: Inbox;
    let onB: RelayClient;

    beforeAll(async () => {
      const [portA, portB] = [await freePort(), await freePort()];
      const [urlA, urlB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.3:${portB}`];
      const config = (peer: string) => ({
        roundIntervalMs: 60_000,
        federation: { policy: "allowlist" as const, peers: [peer], delivery: FAST, slotsPerBatch },
      });
      a = await startRelay({
        host: "127.0.0.1",
        port: portA,
        backend: backendA(),
        config: config(urlB),
      });
      relays.push(a);
      b = await startRelay({
        host: "127.0.0.3",
        port: portB,
        backend: backendB(),
        config: config(urlA),
      });
      relays.push(b);
      onB = await RelayClient.connectVia(b.url, await RelayClient.connect(a.url));
      inbox = await createInbox(b.url, onB.descriptor.signingKey);
      const card = contactCard(inbox);
      const signer = a.relay.keyRing.stored.signing.publicKey;
      let n = 0;
      for (const real of ROUNDS) {
        const before = a.batches.length;
        const results = [];
        for (let i = 0; i < real; i++) results.push(onB.deposit(card, text(`m${n++}`)));
        for (const result of await Promise.all(results)) expect(result.status).toBe("forwarded");
        await a.relay.closeRound();
        await drainLink(a, b);
        const batches = a.batches.slice(before);
        const decoded = await Promise.all(
          batches.map((w) => verifyBatch(w.body, signer, MAX_BATCH_BYTES)),
        );
        rounds.push({ real, batches, decoded });
      }
      await b.relay.closeRound();
    }, 60_000);

    afterAll(async () => {
      for (const relay of relays.splice(0)) await relay.close();
    });

    it("sends every batch at one size, with exactly slotsPerBatch slots", async () => {
      const reference = await signBatch(
        {
          origin: a.url,
          destination: b.url,
          batchId: randomBytes(16),
          slotCapacity,
          slots: Array.from({ length: slotsPerBatch }, () => ({
            hops: 1,
            envelope: new Uint8Array(1024),
          })),
        },
        a.relay.keyRing.signingKey,
      );
      const all = rounds.flatMap((r) => r.batches);
      expect(all.length).toBeGreaterThanOrEqual(ROUNDS.length);
      expect(new Set(all.map((w) => w.body.length))).toEqual(new Set([reference.length]));
      for (const batch of rounds.flatMap((r) => r.decoded)) {
        expect(batch.slots).toHaveLength(slotsPerBatch);
        expect(batch.slotCapacity).toBe(slotCapacity);
        expect(batch.origin).toBe(a.url);
        expect(batch.destination).toBe(b.url);
      }
      expect(new Set(all.map((w) => w.url))).toEqual(new Set([`${b.url}/v1/federation`]));
    });

    it("sends max(1, ceil(real / slotsPerBatch)) batches a round", () => {
      for (const round of rounds) {
        expect(round.batches.length).toBe(Math.max(1, Math.ceil(round.real / slotsPerBatch)));
      }
      if (slotsPerBatch >= 100) {
        // A link sized for its traffic: 0 and 100 real messages look exactly alike.
        const sizes = rounds.map((r) => r.batches.map((w) => w.body.length));
        expect(new Set(sizes.map((s) => JSON.stringify(s))).size).toBe(1);
      }
    });

    it("sends one batch, not two, when the real envelopes fill exactly one batch", () => {
      // 16 real envelopes do not exceed a batch of 16: nothing calls for a second, all-cover one.
      const full = rounds.find((r) => r.real === 16)!;
      expect(full.batches.length).toBe(Math.max(1, Math.ceil(16 / slotsPerBatch)));
    });

    it("has every batch of every round accepted and every real deposit delivered once", async () => {
      const answers = rounds.flatMap((r) => r.batches.map((w) => `${w.status} ${w.answer}`));
      expect(new Set(answers)).toEqual(new Set(["200 accepted"]));
      const fetched = await onB.fetchAll(inbox);
      expect(fetched.status).toBe("ok");
      if (fetched.status !== "ok") return;
      const total = ROUNDS.reduce((s, r) => s + r, 0);
      const expected = Array.from({ length: total }, (_, i) => `m${i}`).sort();
      expect(fetched.messages.map((m) => untext(m.payload)).sort()).toEqual(expected);
      expect(a.logs).toEqual([]);
      expect(b.logs).toEqual([]);
    });
  });
}

const memory = (): Backend => ({ kind: "memory" });
scenario("embedded store, one process", memory, memory);
scenario("embedded store, one process", memory, memory, 128);

describe("on Redis", () => {
  let redisA: RedisFixture | undefined;
  let redisB: RedisFixture | undefined;
  const fixtures: RedisFixture[] = [];
  beforeAll(async () => {
    [redisA, redisB] = await Promise.all([startRedis(), startRedis()]);
    fixtures.push(redisA, redisB);
  });
  afterAll(async () => {
    await Promise.all(fixtures.map((f) => f.stop()));
  });
  const redis = (fixture: () => RedisFixture | undefined) => (): Backend => ({
    kind: "redis",
    url: fixture()!.url,
    prefix: uniquePrefix(),
    masterKey: newMasterKey(),
  });
  scenario(
    "two Redis servers",
    redis(() => redisA),
    redis(() => redisB),
  );
});
