/**
 * The hop limit: an envelope that arrives in a batch after crossing `hops` relays goes on only
 * while hops < maxHops. Chains are sealed by hand, layer by layer:
 *   X: client -> A -> B -> A, a deposit into an inbox on A (2 hops)
 *   Y: client -> A -> B -> A -> B, a deposit into an inbox on B (3 hops)
 * With maxHops 2, X arrives and Y is dropped at A (nothing is held for B); with maxHops 3, Y is
 * held at A for B, and (on Redis) arrives.
 */
import { afterAll, expect, it } from "vitest";
import { contactCard, createInbox, type Inbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import type { Descriptor } from "../../src/protocol/descriptor.js";
import { RelayStatus } from "../../src/protocol/relay-status.js";
import { RequestKind } from "../../src/protocol/relay-request.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { freePort } from "../../testkit/free-port.js";
import {
  depositRequest,
  descriptorOf,
  drainLink,
  forwardRequest,
  postSealed,
  sealFor,
  startRelay,
  type TestRelay,
} from "./support.js";
import { text, untext } from "../../testkit/text.js";
import { describeEachBackend } from "../../testkit/describe-each-backend.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

/** Three layers of forward around a 1 KiB deposit need 16 KiB slots. */
const SLOT_CAPACITY = 16 * 1024;
const FAST = { maxAttempts: 20, baseDelayMs: 50, maxDelayMs: 200 };

interface Pair {
  a: TestRelay;
  b: TestRelay;
  descriptorA: Descriptor;
  descriptorB: Descriptor;
}

async function sealed(descriptor: Descriptor, request: Parameters<typeof sealFor>[1]) {
  return (await sealFor(descriptor, request)).sealed;
}

async function messages(url: string, inbox: Inbox): Promise<string[] | string> {
  const result = await (
    await RelayClient.connect(url, { shaping: ShapingProfiles.off })
  ).fetchAll(inbox);
  return result.status === "ok" ? result.messages.map((m) => untext(m.payload)) : result.status;
}

describeEachBackend("hop limit", ({ a: backendA, b: backendB, kind }) => {
  const relays: TestRelay[] = [];
  afterAll(async () => {
    for (const relay of relays.splice(0)) await relay.close();
  });

  async function pair(maxHops: number): Promise<Pair> {
    const [portA, portB] = [await freePort(), await freePort()];
    const [urlA, urlB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.3:${portB}`];
    const config = (peer: string) => ({
      roundIntervalMs: 60_000,
      federation: {
        policy: "allowlist" as const,
        peers: [peer],
        maxHops,
        slotCapacity: SLOT_CAPACITY,
        delivery: FAST,
      },
    });
    const a = await startRelay({
      host: "127.0.0.1",
      port: portA,
      backend: backendA(),
      config: config(urlB),
    });
    relays.push(a);
    const b = await startRelay({
      host: "127.0.0.3",
      port: portB,
      backend: backendB(),
      config: config(urlA),
    });
    relays.push(b);
    return {
      a,
      b,
      descriptorA: await descriptorOf(a.url),
      descriptorB: await descriptorOf(b.url),
    };
  }

  /** Chain X (2 hops, deposit on A) and chain Y (3 hops, deposit on B), sent to A. */
  async function sendChains({ a, b, descriptorA, descriptorB }: Pair, chains: ("X" | "Y")[]) {
    const inboxA = await createInbox(a.url, descriptorA.signingKey);
    const inboxB = await createInbox(b.url, descriptorB.signingKey);
    for (const chain of chains) {
      let inner: Uint8Array;
      if (chain === "X") {
        const x2 = await sealed(descriptorA, await depositRequest(contactCard(inboxA), text("X")));
        inner = await sealed(descriptorB, forwardRequest(a.url, x2));
      } else {
        const y3 = await sealed(descriptorB, await depositRequest(contactCard(inboxB), text("Y")));
        const y2 = await sealed(descriptorA, forwardRequest(b.url, y3));
        inner = await sealed(descriptorB, forwardRequest(a.url, y2));
      }
      const answer = await postSealed(a.url, descriptorA, forwardRequest(b.url, inner));
      expect(answer).toEqual({ status: RelayStatus.accepted, kind: RequestKind.forward });
    }
    return { inboxA, inboxB };
  }

  /** One batch A -> B, then one B -> A, each handled before this returns. */
  async function exchange({ a, b }: Pair) {
    await a.relay.closeRound();
    await drainLink(a, b);
    await b.relay.closeRound();
    await drainLink(b, a);
  }

  it("with maxHops 2 delivers the 2-hop chain and drops the 3-hop one at its second hop", async () => {
    const relaysOf = await pair(2);
    const { a, b } = relaysOf;
    const { inboxA, inboxB } = await sendChains(relaysOf, ["X", "Y"]);
    await exchange(relaysOf);
    // A handled X's deposit and Y's forward at hop 2; Y's forward must not be held for B.
    expect(await a.ports.federation.peersWithTraffic()).toEqual([]);
    // The metric names what became of each forwarded forward: held for the next hop, or
    // dropped at the hop limit.
    const dropped = { kind: "forwarded_forward", status: "dropped" };
    const held = { kind: "forwarded_forward", status: "accepted" };
    expect(await a.counter(MetricName.requests, dropped)).toBe(1);
    expect(await a.counter(MetricName.requests, held)).toBe(0);
    expect(await b.counter(MetricName.requests, held)).toBe(2);
    await a.relay.closeRound();
    expect(await messages(a.url, inboxA)).toEqual(["X"]);
    await drainLink(a, b);
    await b.relay.closeRound();
    expect(await messages(b.url, inboxB)).toBe("not_found");
    expect(a.logs).toEqual([]);
    expect(b.logs).toEqual([]);
  });

  it("with maxHops 3 carries the 3-hop chain on", async () => {
    const relaysOf = await pair(3);
    const { a, b } = relaysOf;
    const { inboxB } = await sendChains(relaysOf, ["Y"]);
    await exchange(relaysOf);
    expect(await a.ports.federation.peersWithTraffic()).toEqual([b.url]);
    if (kind !== "redis") return;
    await a.relay.closeRound();
    await drainLink(a, b);
    await b.relay.closeRound();
    expect(await messages(b.url, inboxB)).toEqual(["Y"]);
  });
});
