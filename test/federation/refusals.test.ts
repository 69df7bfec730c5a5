/**
 * POST /v1/federation refusals over real HTTP: forged or tampered signatures, senders B does not
 * allow, batches for another relay, oversize and garbage bodies, wrong media types. Each is
 * refused with its status and leaves B's stored state exactly as it was; a replayed batch is
 * acknowledged as a duplicate and delivers nothing twice. On the embedded store and on Redis.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { contactCard, createInbox, type Inbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { concat, randomBytes } from "../../src/protocol/bytes.js";
import type { Descriptor } from "../../src/protocol/descriptor.js";
import { coverSlot, signBatch, type Slot } from "../../src/protocol/federation-batch.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { DEFAULT_FEDERATION } from "../../src/relay/relay-config.js";
import { freePort } from "../../testkit/free-port.js";
import {
  depositRequest,
  descriptorOf,
  drainLink,
  postBatch,
  postOversize,
  sealFor,
  startRelay,
  type TestRelay,
} from "./support.js";
import { text, untext } from "../../testkit/text.js";
import { describeEachBackend } from "../../testkit/describe-each-backend.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

const { slotsPerBatch, slotCapacity } = DEFAULT_FEDERATION;
/** B's inbound limit: a normal batch (16 slots of 4 KiB, ~66 KB) fits, 80 slots do not. */
const MAX_BATCH_BYTES = 256 * 1024;
const ED25519 = { name: "Ed25519" } as const;

/** A copy of `bytes` with the byte at `index` set to `value`. */
function withByte(bytes: Uint8Array, index: number, value: number): Uint8Array {
  const copy = bytes.slice();
  copy[index] = value;
  return copy;
}

/** Where a signed batch's body (and so its version byte) starts: after the body's varint. */
function versionAt(signed: Uint8Array): number {
  return [1, 2, 4][signed[0]! >> 6]!;
}

async function strangerKey(): Promise<CryptoKey> {
  const pair = (await crypto.subtle.generateKey(ED25519, false, ["sign"])) as CryptoKeyPair;
  return pair.privateKey;
}

describeEachBackend("federation refusals", ({ a: backendA, b: backendB }) => {
  const relays: TestRelay[] = [];
  let a: TestRelay;
  let b: TestRelay;
  let c: TestRelay;
  let descriptorB: Descriptor;
  let inbox: Inbox;

  beforeAll(async () => {
    const [portA, portB, portC] = [await freePort(), await freePort(), await freePort()];
    const [urlA, urlB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.3:${portB}`];
    const federation = (peers: string[]) => ({
      roundIntervalMs: 60_000,
      federation: {
        policy: "allowlist" as const,
        peers,
        maxBatchBytes: MAX_BATCH_BYTES,
        delivery: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 },
      },
    });
    a = await startRelay({
      host: "127.0.0.1",
      port: portA,
      backend: backendA(),
      config: federation([urlB]),
    });
    relays.push(a);
    b = await startRelay({
      host: "127.0.0.3",
      port: portB,
      backend: backendB(),
      config: federation([urlA]),
    });
    relays.push(b);
    // C federates with B, but B does not allow C.
    c = await startRelay({
      host: "127.0.0.4",
      port: portC,
      backend: { kind: "memory" },
      config: federation([urlB]),
    });
    relays.push(c);
    descriptorB = await descriptorOf(b.url);
    inbox = await createInbox(b.url, descriptorB.signingKey);
  });

  afterAll(async () => {
    for (const relay of relays.splice(0)) await relay.close();
  });

  /** One real deposit for the inbox on B, sealed to B, in a slot. */
  async function depositSlot(message: string): Promise<Slot> {
    const { sealed } = await sealFor(
      descriptorB,
      await depositRequest(contactCard(inbox), text(message)),
    );
    return { hops: 1, envelope: sealed };
  }

  /** A batch of `count` slots (the given ones first, then cover). */
  async function batch(options: {
    signer?: CryptoKey;
    origin?: string;
    destination?: string;
    slots?: Slot[];
    count?: number;
    batchId?: Uint8Array;
  }): Promise<Uint8Array> {
    const slots = [...(options.slots ?? [])];
    const header = new Uint8Array([descriptorB.keys[0]!.config.keyId, 0, 0x20, 0, 1, 0, 1]);
    while (slots.length < (options.count ?? slotsPerBatch)) slots.push(coverSlot(header, 1024));
    return signBatch(
      {
        origin: options.origin ?? a.url,
        destination: options.destination ?? b.url,
        batchId: options.batchId ?? randomBytes(16),
        slotCapacity,
        slots,
      },
      options.signer ?? a.relay.keyRing.signingKey,
    );
  }

  it("refuses each bad batch with its status and stores nothing", async () => {
    const real = await depositSlot("must never arrive");
    const valid = await batch({ slots: [real] });
    // A byte inside the first slot's envelope: the signature no longer covers the body.
    const inFirstSlot = valid.length - 64 - slotsPerBatch * (5 + slotCapacity) + 20;
    const flipped = withByte(valid, inFirstSlot, valid[inFirstSlot]! ^ 0x01);
    const cases: { name: string; body: Uint8Array; type?: string | null; status: number }[] = [
      {
        name: "forged signature (a stranger's key, A's origin)",
        body: await batch({ signer: await strangerKey(), slots: [real] }),
        status: 400,
      },
      { name: "tampered after signing", body: flipped, status: 400 },
      {
        name: "unknown peer (C, validly signed, not allowed by B)",
        body: await batch({ signer: c.relay.keyRing.signingKey, origin: c.url, slots: [real] }),
        status: 403,
      },
      {
        name: "addressed to another relay",
        body: await batch({ destination: "http://127.0.0.5:4444", slots: [real] }),
        status: 403,
      },
      { name: "empty body", body: new Uint8Array(0), status: 400 },
      { name: "random bytes", body: randomBytes(300), status: 400 },
      { name: "truncated batch", body: valid.slice(0, valid.length - 100), status: 400 },
      { name: "trailing bytes", body: concat(valid, new Uint8Array(1)), status: 400 },
      { name: "not a URL as origin", body: await batch({ origin: "not a url" }), status: 400 },
      { name: "wrong version", body: withByte(valid, versionAt(valid), 2), status: 400 },
      { name: "wrong content type", body: valid, type: "application/octet-stream", status: 415 },
      { name: "text content type", body: valid, type: "text/plain", status: 415 },
      { name: "no content type", body: valid, type: null, status: 415 },
    ];
    const received = { peer: a.url };
    const receivedBefore = await b.counter(MetricName.federationBatchesReceived, received);
    const outcomes: string[] = [];
    for (const each of cases) {
      const before = (await b.state()).canonical;
      const { status } = await postBatch(b.url, each.body, each.type);
      const after = (await b.state()).canonical;
      outcomes.push(`${each.name}: ${status}${after === before ? "" : " (state changed)"}`);
    }
    // Oversize bodies: refused from the Content-Length, or while streaming past the limit.
    const oversize: { name: string; body: Uint8Array; announce: boolean }[] = [
      {
        name: "oversize, validly signed (80 slots), announced",
        body: await batch({ slots: [real], count: 80 }),
        announce: true,
      },
      {
        name: "oversize, validly signed (80 slots), chunked",
        body: await batch({ slots: [real], count: 80 }),
        announce: false,
      },
      {
        name: "oversize garbage, announced",
        body: randomBytes(MAX_BATCH_BYTES + 1),
        announce: true,
      },
      {
        name: "oversize garbage, chunked",
        body: randomBytes(MAX_BATCH_BYTES + 1),
        announce: false,
      },
    ];
    for (const each of oversize) {
      const before = (await b.state()).canonical;
      // Named as A's, so that only the size is wrong.
      const status = await postOversize(b.url, each.body, each.announce, a.url);
      const after = (await b.state()).canonical;
      outcomes.push(`${each.name}: ${status}${after === before ? "" : " (state changed)"}`);
    }
    expect(outcomes).toEqual([
      ...cases.map((each) => `${each.name}: ${each.status}`),
      ...oversize.map((each) => `${each.name}: 413`),
    ]);
    expect(await b.counter(MetricName.federationBatchesReceived, received)).toBe(receivedBefore);

    // C's own round sends its batch to B, which refuses it the same way.
    await c.relay.closeRound();
    await expect.poll(() => c.batches.map((w) => w.status), { timeout: 5000 }).toEqual([403]);

    // None of the above delivered the deposit they carried; the same envelope still can.
    await b.relay.closeRound();
    await drainLink(b, a);
    const owner = await RelayClient.connect(b.url, { shaping: ShapingProfiles.off });
    expect(await owner.fetchAll(inbox)).toMatchObject({ status: "not_found" });
    expect(b.logs).toEqual([]);
    expect(a.logs).toEqual([]);
  });

  it("refuses a validly signed batch whose destination is not an origin for good", async () => {
    const body = await batch({ destination: "not an origin", slots: [await depositSlot("no")] });
    const before = (await b.state()).canonical;
    // Refused for good: malformed (400) or not for B (403), never "try again later" (503),
    // which would have the sender retry it until it dead-letters.
    expect([400, 403]).toContain((await postBatch(b.url, body)).status);
    expect((await b.state()).canonical).toBe(before);
  });

  it("acknowledges a replayed batch as a duplicate and delivers it once", async () => {
    const accepted = await batch({ slots: [await depositSlot("once only")] });
    expect(await postBatch(b.url, accepted)).toEqual({ status: 200, answer: "accepted" });
    const once = (await b.state()).canonical;
    expect(await postBatch(b.url, accepted)).toEqual({ status: 200, answer: "duplicate" });
    expect(await postBatch(b.url, accepted)).toEqual({ status: 200, answer: "duplicate" });
    expect((await b.state()).canonical).toBe(once);
    await b.relay.closeRound();
    await drainLink(b, a);
    const owner = await RelayClient.connect(b.url, { shaping: ShapingProfiles.off });
    const fetched = await owner.fetchAll(inbox);
    expect(fetched.status === "ok" && fetched.messages.map((m) => untext(m.payload))).toEqual([
      "once only",
    ]);
    expect(b.logs).toEqual([]);
  });

  it("accepts a new batch id carrying an envelope already handled, without delivering it again", async () => {
    const slot = await depositSlot("not twice");
    expect(await postBatch(b.url, await batch({ slots: [slot] }))).toEqual({
      status: 200,
      answer: "accepted",
    });
    await b.relay.closeRound();
    await drainLink(b, a);
    // The same envelope in a batch with a fresh id (a sender rebuilding after a crash).
    expect(await postBatch(b.url, await batch({ slots: [slot] }))).toEqual({
      status: 200,
      answer: "accepted",
    });
    await b.relay.closeRound();
    await drainLink(b, a);
    const owner = await RelayClient.connect(b.url, { shaping: ShapingProfiles.off });
    const fetched = await owner.fetchAll(inbox);
    expect(fetched.status === "ok" && fetched.messages.map((m) => untext(m.payload))).toEqual([
      "once only",
      "not twice",
    ]);
  });
});
