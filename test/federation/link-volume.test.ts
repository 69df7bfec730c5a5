/**
 * Constant link volume: every round the link A -> B carries exactly `batchesPerRound` batches of
 * `slotsPerBatch` slots, padded with cover, whether A holds nothing or a burst; envelopes beyond
 * a round's capacity wait for the next rounds. Observed on the wire (A's outbound HTTP) over
 * rounds with 0, 1, 16, 100 and again 0 real forwarded deposits, then idle rounds while the
 * burst drains, on the embedded store and on two Redis servers: the same number and size of
 * batches every round, and every deposit delivered once.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { contactCard, createInbox, type Inbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { signBatch, verifyBatch, type Batch } from "../../src/protocol/federation-batch.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { DEFAULT_FEDERATION } from "../../src/relay/relay-config.js";
import { freePort } from "../../testkit/free-port.js";
import { drainLink, startRelay, type TestRelay, type WireBatch } from "./support.js";
import { text, untext } from "../../testkit/text.js";
import { describeEachBackend, type BackendCase } from "../../testkit/describe-each-backend.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

const { slotCapacity } = DEFAULT_FEDERATION;
/** Large enough for every batch shape this file sends. */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;
const FAST = { maxAttempts: 20, baseDelayMs: 50, maxDelayMs: 200 };
/** Real forwarded deposits made in each round, in order: idle, busy, a burst, idle again. */
const BUSY = [0, 1, 16, 100, 0];
const TOTAL = BUSY.reduce((sum, n) => sum + n, 0);

interface Observed {
  real: number;
  batches: WireBatch[];
  decoded: Batch[];
  /** Deposits B held after this round (cumulative). */
  delivered: number;
}

/** The suite for one link capacity: `batchesPerRound` batches of `slotsPerBatch` slots a round. */
function linkVolume(slotsPerBatch: number, batchesPerRound: number) {
  return ({ a: backendA, b: backendB }: BackendCase) => {
    const capacity = slotsPerBatch * batchesPerRound;
    // Enough idle rounds after the burst for all of it to leave at `capacity` a round.
    const rounds = [...BUSY, ...Array<number>(Math.ceil(TOTAL / capacity)).fill(0)];
    const relays: TestRelay[] = [];
    const observed: Observed[] = [];
    let a: TestRelay;
    let b: TestRelay;
    let inbox: Inbox;
    let direct: RelayClient;

    beforeAll(async () => {
      const [portA, portB] = [await freePort(), await freePort()];
      const [urlA, urlB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.3:${portB}`];
      const config = (peer: string) => ({
        roundIntervalMs: 60_000,
        federation: {
          policy: "allowlist" as const,
          peers: [peer],
          delivery: FAST,
          slotsPerBatch,
          batchesPerRound,
          maxBatchBytes: MAX_BATCH_BYTES,
        },
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
      const onB = await RelayClient.connectVia(
        b.url,
        await RelayClient.connect(a.url, { shaping: ShapingProfiles.off }),
      );
      direct = await RelayClient.connect(b.url, { shaping: ShapingProfiles.off });
      inbox = await createInbox(b.url, onB.descriptor.signingKey);
      const card = contactCard(inbox);
      const signer = a.relay.keyRing.stored.signing.publicKey;
      let n = 0;
      for (const real of rounds) {
        const before = a.batches.length;
        const results = [];
        for (let i = 0; i < real; i++) results.push(onB.deposit(card, text(`m${n++}`)));
        for (const result of await Promise.all(results)) expect(result.status).toBe("forwarded");
        await a.relay.closeRound();
        await drainLink(a, b);
        await b.relay.closeRound();
        const batches = a.batches.slice(before);
        const decoded = await Promise.all(
          batches.map((w) => verifyBatch(w.body, signer, MAX_BATCH_BYTES)),
        );
        // The inbox exists at B from its first deposit on.
        const held = await direct.fetchAll(inbox);
        expect(held.status).toBe(n === 0 ? "not_found" : "ok");
        const delivered = held.status === "ok" ? held.messages.length : 0;
        observed.push({ real, batches, decoded, delivered });
      }
    }, 180_000);

    afterAll(async () => {
      for (const relay of relays.splice(0)) await relay.close();
    });

    it("sends the same number of batches every round, idle or busy", () => {
      const counts = observed.map((round) => round.batches.length);
      expect(counts).toEqual(rounds.map(() => batchesPerRound));
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
      const all = observed.flatMap((r) => r.batches);
      expect(new Set(all.map((w) => w.body.length))).toEqual(new Set([reference.length]));
      for (const batch of observed.flatMap((r) => r.decoded)) {
        expect(batch.slots).toHaveLength(slotsPerBatch);
        expect(batch.slotCapacity).toBe(slotCapacity);
        expect(batch.origin).toBe(a.url);
        expect(batch.destination).toBe(b.url);
      }
      expect(new Set(all.map((w) => w.url))).toEqual(new Set([`${b.url}/v1/federation`]));
    });

    it("carries at most a round's capacity and the rest in later rounds", () => {
      let held = 0;
      let delivered = 0;
      for (const round of observed) {
        held += round.real;
        const sent = Math.min(held, capacity);
        held -= sent;
        delivered += sent;
        expect(round.delivered).toBe(delivered);
      }
      expect(delivered).toBe(TOTAL);
    });

    it("counts the rounds that left envelopes waiting", async () => {
      let held = 0;
      let backlog = 0;
      for (const round of observed) {
        held = Math.max(0, held + round.real - capacity);
        if (held > 0) backlog += 1;
      }
      expect(backlog).toBeGreaterThan(0);
      expect(await a.counter(MetricName.federationBacklogRounds, { peer: b.url })).toBe(backlog);
    });

    it("has every batch accepted and every real deposit delivered exactly once", async () => {
      const answers = observed.flatMap((r) => r.batches.map((w) => `${w.status} ${w.answer}`));
      expect(new Set(answers)).toEqual(new Set(["200 accepted"]));
      const fetched = await direct.fetchAll(inbox);
      expect(fetched.status).toBe("ok");
      if (fetched.status !== "ok") return;
      const expected = Array.from({ length: TOTAL }, (_, i) => `m${i}`).sort();
      expect(fetched.messages.map((m) => untext(m.payload)).sort()).toEqual(expected);
      expect(a.logs).toEqual([]);
      expect(b.logs).toEqual([]);
    });
  };
}

const DEFAULT_SLOTS = DEFAULT_FEDERATION.slotsPerBatch;
describeEachBackend(
  `link volume, 1 × ${DEFAULT_SLOTS} slots a round`,
  linkVolume(DEFAULT_SLOTS, 1),
);
describeEachBackend("link volume, 3 × 8 slots a round", linkVolume(8, 3), ["memory"]);
