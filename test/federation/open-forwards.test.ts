/**
 * Forwards under `--federation open` to next hops that are not configured peers, over real HTTP
 * on loopback: a hop that serves no verified descriptor (not a relay) is refused with
 * `unavailable` and never gets a batch; past `maxDynamicPeers` new hops within a round, more
 * are refused until the window has passed; configured peers are never counted. A link to such
 * a hop keeps `batchesPerRound` batches a round for `dynamicLinkMs` after its last traffic, at
 * most `maxDynamicPeers` of them, the one idle longest let go first.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "../../src/protocol/bytes.js";
import type { Descriptor } from "../../src/protocol/descriptor.js";
import { RelayStatus } from "../../src/protocol/relay-status.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { startStandIns, type StandIns } from "./peer-stand-in.js";
import { descriptorOf, forwardRequest, postSealed, startRelay, type TestRelay } from "./support.js";
import { waitFor } from "../../testkit/wait.js";

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

describe("links to hops that are not configured peers keep a fixed rate", () => {
  let hops: StandIns;
  let a: TestRelay;
  let descriptorA: Descriptor;
  /** Added to the system clock: the test moves the relay's time forward. */
  let offset = 0;
  const BATCHES = 2;
  const LINGER_MS = 600_000;
  /** Past the window in which a new dynamic hop counts against maxDynamicPeers. */
  const ADMISSION_MS = 61_000;

  beforeAll(async () => {
    hops = await startStandIns(4);
    a = await startRelay({
      host: "127.0.0.1",
      backend: { kind: "memory" },
      clock: { now: () => Date.now() + offset },
      config: {
        roundIntervalMs: 60_000,
        federation: {
          policy: "open",
          peers: [],
          maxDynamicPeers: 2,
          batchesPerRound: BATCHES,
          dynamicLinkMs: LINGER_MS,
        },
      },
    });
    descriptorA = await descriptorOf(a.url);
  });

  afterAll(async () => {
    await a?.close();
    await hops?.close();
  });

  const forward = async (hop: string) =>
    (await postSealed(a.url, descriptorA, forwardRequest(hop, randomBytes(1024)))).status;

  /** Closes a round and returns how many batches each stand-in got in it, once all arrived. */
  const round = async () => {
    const before = hops.peers.map((p) => p.batches.length);
    await a.relay.closeRound();
    const other = { peer: "other" };
    const sent = await a.counter(MetricName.federationBatchesSent, other);
    await waitFor(
      () => a.counter(MetricName.federationBatchesDelivered, other),
      (delivered) => delivered >= sent,
      10_000,
      "the round's batches",
    );
    return hops.peers.map((p, i) => p.batches.length - before[i]!);
  };

  it("sends batchesPerRound batches a round, idle or busy, until dynamicLinkMs has passed", async () => {
    const [x, y, z, never] = hops.peers.map((p) => p.url);
    expect(await forward(x!)).toBe(RelayStatus.accepted);
    expect(await round()).toEqual([BATCHES, 0, 0, 0]);
    // Idle rounds: the link to x keeps its volume.
    expect(await round()).toEqual([BATCHES, 0, 0, 0]);
    offset += ADMISSION_MS;
    expect(await round()).toEqual([BATCHES, 0, 0, 0]);
    expect(await forward(y!)).toBe(RelayStatus.accepted);
    expect(await round()).toEqual([BATCHES, BATCHES, 0, 0]);
    // A third link is one too many (maxDynamicPeers 2): the one idle longest (x) is let go.
    offset += ADMISSION_MS;
    expect(await forward(z!)).toBe(RelayStatus.accepted);
    expect(await round()).toEqual([0, BATCHES, BATCHES, 0]);
    expect(await round()).toEqual([0, BATCHES, BATCHES, 0]);
    // Once dynamicLinkMs has passed since their last traffic, the links end.
    offset += LINGER_MS;
    expect(await round()).toEqual([0, 0, 0, 0]);
    expect(never).toBeDefined();
    expect(hops.peers[3]!.batches).toEqual([]);
  });
});
