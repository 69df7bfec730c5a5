/**
 * The peer directory against real peers over HTTP (stand-ins on loopback, each its own origin
 * with a signed descriptor): its cache holds at most `peerCacheSize` descriptors, least recently
 * used dropped first but never a configured peer's; a descriptor past its expiry is dropped;
 * and only so many fetches run at once, the rest refused at once instead of piling up.
 */
import { afterAll, describe, expect, it } from "vitest";
import { TransportError } from "../../src/protocol/errors.js";
import { systemClock } from "../../src/relay/ports/clock.js";
import { MAX_FETCHES_IN_FLIGHT, PeerDirectory } from "../../src/relay/peer-directory.js";
import { relayConfig } from "../../src/relay/relay-config.js";
import { manualClock } from "../../testkit/manual-clock.js";
import { startStandIns, type StandIns } from "./peer-stand-in.js";

const httpFetch: typeof fetch = (input, init) => fetch(input, init);

function settings(peers: string[], peerCacheSize: number) {
  return relayConfig({
    origin: "http://127.0.0.1:1",
    federation: { policy: "open", peers, peerCacheSize },
  }).federation;
}

describe("peer directory", () => {
  const started: StandIns[] = [];
  afterAll(async () => {
    for (const s of started.splice(0)) await s.close();
  });

  it("keeps at most peerCacheSize descriptors, configured peers always", async () => {
    const stand = await startStandIns(21);
    started.push(stand);
    const [configured, ...others] = stand.peers.map((p) => p.url);
    const directory = new PeerDirectory(settings([configured!], 8), systemClock, httpFetch);
    await directory.get(configured!);
    for (const origin of others) await directory.get(origin);
    expect(directory.size).toBeLessThanOrEqual(8);
    expect(directory.cached(configured!)).toBeDefined();
    // The most recently used are the ones kept.
    for (const origin of others.slice(-7)) expect(directory.cached(origin)).toBeDefined();
    expect(directory.cached(others[0]!)).toBeUndefined();
  });

  it("drops a descriptor once it has expired", async () => {
    const stand = await startStandIns(3);
    started.push(stand);
    const clock = manualClock(Date.now());
    const [configured, other] = stand.peers.map((p) => p.url);
    const directory = new PeerDirectory(settings([configured!], 8), clock, httpFetch);
    await directory.get(configured!);
    await directory.get(other!);
    expect(directory.size).toBe(2);
    // The stand-ins' descriptors expire after an hour.
    clock.advance(2 * 3600_000);
    expect(directory.cached(other!)).toBeUndefined();
    expect(directory.size).toBe(1);
    // A configured peer's stays (it pins the peer's signing key) until it is fetched again.
    expect(directory.cached(configured!)).toBeDefined();
  });

  it("runs at most MAX_FETCHES_IN_FLIGHT fetches at once and refuses the rest at once", async () => {
    const count = MAX_FETCHES_IN_FLIGHT + 8;
    const stalled = await startStandIns(count, { descriptor: "stall" });
    started.push(stalled);
    const directory = new PeerDirectory(settings([], 1024), systemClock, httpFetch);
    const outcomes = stalled.peers.map((p) =>
      directory.get(p.url).then(
        () => "fetched",
        (error: unknown) => (error instanceof TransportError ? "refused" : "other"),
      ),
    );
    // The ones past the limit are refused without waiting for anything (a stalled fetch would
    // take its whole timeout of seconds).
    const late = await Promise.race([
      Promise.all(outcomes.slice(MAX_FETCHES_IN_FLIGHT)),
      new Promise((resolve) => setTimeout(() => resolve("still waiting"), 5000)),
    ]);
    expect(late).toEqual(Array(8).fill("refused"));
    const open = stalled.peers.reduce((sum, p) => sum + p.open, 0);
    expect(open).toBeLessThanOrEqual(MAX_FETCHES_IN_FLIGHT);
    await stalled.close();
    started.splice(started.indexOf(stalled), 1);
    for (const outcome of await Promise.all(outcomes)) expect(outcome).not.toBe("fetched");
  });
});
