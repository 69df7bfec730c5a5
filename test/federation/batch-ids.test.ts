/**
 * Batch ids: B drops a batch id it has accepted from that sender before, and nothing else.
 * Every new batch from a peer is accepted (round after round), and peers whose origins look
 * alike (two relays on one host) never shadow each other's batch ids. On the embedded store
 * and on Redis.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { contactCard, createInbox, type Inbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import type { Descriptor } from "../../src/protocol/descriptor.js";
import { coverSlot, signBatch, type Slot } from "../../src/protocol/federation-batch.js";
import { DEFAULT_FEDERATION } from "../../src/relay/relay-config.js";
import { freePort } from "../../testkit/free-port.js";
import {
  depositRequest,
  descriptorOf,
  postBatch,
  sealFor,
  startRelay,
  type TestRelay,
} from "./support.js";
import { text, untext } from "../../testkit/text.js";
import { describeEachBackend } from "../../testkit/describe-each-backend.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

const { slotsPerBatch, slotCapacity } = DEFAULT_FEDERATION;

describeEachBackend("batch ids", ({ b: backendB }) => {
  const relays: TestRelay[] = [];
  let a: TestRelay;
  let c: TestRelay;
  let b: TestRelay;
  let descriptorB: Descriptor;
  let inbox: Inbox;

  beforeAll(async () => {
    // A and C on one host: their origins differ only in the port.
    const [portA, portB, portC] = [await freePort(), await freePort(), await freePort()];
    const [urlA, urlB, urlC] = [
      `http://127.0.0.1:${portA}`,
      `http://127.0.0.3:${portB}`,
      `http://127.0.0.1:${portC}`,
    ];
    const config = (peers: string[]) => ({
      roundIntervalMs: 60_000,
      federation: { policy: "allowlist" as const, peers },
    });
    a = await startRelay({
      host: "127.0.0.1",
      port: portA,
      backend: { kind: "memory" },
      config: config([urlB]),
    });
    relays.push(a);
    c = await startRelay({
      host: "127.0.0.1",
      port: portC,
      backend: { kind: "memory" },
      config: config([urlB]),
    });
    relays.push(c);
    b = await startRelay({
      host: "127.0.0.3",
      port: portB,
      backend: backendB(),
      config: config([urlA, urlC]),
    });
    relays.push(b);
    descriptorB = await descriptorOf(b.url);
    inbox = await createInbox(b.url, descriptorB.signingKey);
  });

  afterAll(async () => {
    for (const relay of relays.splice(0)) await relay.close();
  });

  /** A batch from `sender` to B carrying one real deposit for the inbox. */
  async function batchFrom(sender: TestRelay, message: string): Promise<Uint8Array> {
    const request = await depositRequest(contactCard(inbox), text(message));
    const slots: Slot[] = [{ hops: 1, envelope: (await sealFor(descriptorB, request)).sealed }];
    const header = new Uint8Array([descriptorB.keys[0]!.config.keyId, 0, 0x20, 0, 1, 0, 1]);
    while (slots.length < slotsPerBatch) slots.push(coverSlot(header, 1024));
    return signBatch(
      { origin: sender.url, destination: b.url, batchId: randomBytes(16), slotCapacity, slots },
      sender.relay.keyRing.signingKey,
    );
  }

  it("accepts every new batch from a peer, and each only once", async () => {
    const answers: string[] = [];
    for (const message of ["a1", "a2", "a3"]) {
      const batch = await batchFrom(a, message);
      answers.push((await postBatch(b.url, batch)).answer, (await postBatch(b.url, batch)).answer);
    }
    expect(answers).toEqual([
      "accepted",
      "duplicate",
      "accepted",
      "duplicate",
      "accepted",
      "duplicate",
    ]);
  });

  it("keeps the batch ids of two peers on one host apart", async () => {
    const fromC = await batchFrom(c, "c1");
    expect(await postBatch(b.url, fromC)).toEqual({ status: 200, answer: "accepted" });
    expect(await postBatch(b.url, await batchFrom(a, "a4"))).toEqual({
      status: 200,
      answer: "accepted",
    });
    await b.relay.closeRound();
    const fetched = await (
      await RelayClient.connect(b.url, { shaping: ShapingProfiles.off })
    ).fetchAll(inbox);
    expect(
      fetched.status === "ok" && fetched.messages.map((m) => untext(m.payload)).sort(),
    ).toEqual(["a1", "a2", "a3", "a4", "c1"]);
    expect(b.logs).toEqual([]);
  });
});
