/**
 * Forwards under `--federation open` to next hops that are not configured peers, over real HTTP
 * on loopback: a hop that serves no verified descriptor (not a relay) is refused with
 * `unavailable` and never gets a batch; past `maxDynamicPeers` new hops within a round, more
 * are refused until the window has passed; configured peers are never counted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "../../src/protocol/bytes.js";
import type { Descriptor } from "../../src/protocol/descriptor.js";
import { RelayStatus } from "../../src/protocol/relay-status.js";
import { startStandIns, type StandIns } from "./peer-stand-in.js";
import {
  descriptorOf,
  forwardRequest,
  postSealed,
  startRelay,
  waitFor,
  type TestRelay,
} from "./support.js";

describe("forwards to hops that are not configured peers", () => {
  let relays: StandIns;
  let notRelays: StandIns;
  let configured: StandIns;
  let a: TestRelay;
  let descriptorA: Descriptor;

  beforeAll(async () => {
    relays = await startStandIns(5);
    notRelays = await startStandIns(1, { descriptor: "missing" });
    configured = await startStandIns(2);
    a = await startRelay({
      host: "127.0.0.1",
      backend: { kind: "memory" },
      config: {
        // No round timer; the dynamic-hop window is then its shortest, one second.
        roundIntervalMs: 0,
        federation: {
          policy: "open",
          peers: configured.peers.map((p) => p.url),
          maxDynamicPeers: 3,
        },
      },
    });
    descriptorA = await descriptorOf(a.url);
  });

  afterAll(async () => {
    await a?.close();
    for (const s of [relays, notRelays, configured]) await s?.close();
  });

  const forward = async (hop: string) =>
    (await postSealed(a.url, descriptorA, forwardRequest(hop, randomBytes(1024)))).status;

  it("refuses a hop without a verified descriptor, and sends it nothing", async () => {
    const hop = notRelays.peers[0]!;
    expect(await forward(hop.url)).toBe(RelayStatus.unavailable);
    expect(hop.descriptorRequests).toBeGreaterThanOrEqual(1);
    await a.relay.closeRound();
    await a.relay.closeRound();
    expect(hop.batches).toEqual([]);
  });

  it("takes at most maxDynamicPeers new hops per window; configured peers do not count", async () => {
    const [p0, p1, p2, p3] = relays.peers.map((p) => p.url);
    expect([await forward(p0!), await forward(p1!), await forward(p2!)]).toEqual([
      RelayStatus.accepted,
      RelayStatus.accepted,
      RelayStatus.accepted,
    ]);
    // A fourth new hop is refused; the three already counted still take forwards.
    expect(await forward(p3!)).toBe(RelayStatus.unavailable);
    expect(await forward(p0!)).toBe(RelayStatus.accepted);
    for (const peer of configured.peers) expect(await forward(peer.url)).toBe(RelayStatus.accepted);
    await a.relay.closeRound();
    await waitFor(
      () => relays.peers.slice(0, 3).every((p) => p.batches.length > 0),
      (done) => done,
      10_000,
      "batches to the three dynamic hops",
    );
    expect(relays.peers[3]!.batches).toEqual([]);
    // Once a window has passed without forwards to them, their places are free again.
    await waitFor(
      () => forward(p3!),
      (status) => status === RelayStatus.accepted,
      10_000,
    );
  });
});
