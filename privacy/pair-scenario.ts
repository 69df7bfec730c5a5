/**
 * Scenarios (a) and (b): pairs of clients writing back and forth, each with one true partner,
 * among background clients writing to each other at random. (a) every client talks to one relay
 * directly; (b) every client sends and fetches through an ingress relay A, its inbox living on
 * relay B. A stretch of polling only comes first, then messages until every pair's first member
 * (the pair's target) has sent the number asked for, then a tail for the last answers.
 */
import type { ShapingProfile } from "../src/client/shaping-profile.js";
import { ChatClient, type ChatWorld, type Route } from "./chat-client.js";
import type { LaneMode } from "./harness-options.js";
import { shuffled } from "./csprng.js";
import { emptyRecords, type RunRecords } from "./records.js";
import { startSimRelays, stopSimRelays } from "./sim-relays.js";
import { sleep, type SimTiming } from "./sim-timing.js";

export type PairScenarioName = "direct" | "two-hop";

export interface PairSetup {
  pairs: number;
  background: number;
  /** Messages each pair's target sends before the run ends. */
  messages: number;
  /** Give up (and analyse what there is) after this many wall-clock milliseconds of messages. */
  maxBusyMs: number;
  /** Lanes of drop cover (see LaneMode); `peers`: every peer one, idle and busy. */
  lanes: LaneMode;
}

/** Who is who in a run (the ground truth the attack is scored against). */
export interface PairCast {
  /** [target, partner] addresses. */
  pairs: [string, string][];
  background: string[];
  /** Inbox id (hex) of every client, by address. */
  inboxOf: Record<string, string>;
  /** Relay URLs by label. */
  relays: Record<string, string>;
  /** Batches per round on the link between the relays (two-hop). */
  batchesPerRound: number;
}

export interface PairRun {
  scenario: PairScenarioName;
  cast: PairCast;
  records: RunRecords;
}

/**
 * Client addresses 127.0.0.2 onwards (the relays are on 127.0.0.1).
 *
 * @example clientAddress(0) // "127.0.0.2"
 */
export function clientAddress(i: number): string {
  return `127.0.0.${i + 2}`;
}

/**
 * @example
 * const run = await runPairScenario("direct", ShapingProfiles.off, simTiming(0.25), setup);
 */
export async function runPairScenario(
  scenario: PairScenarioName,
  profile: ShapingProfile,
  timing: SimTiming,
  setup: PairSetup,
  progress: (line: string) => void = () => undefined,
): Promise<PairRun> {
  const records = emptyRecords();
  const labels = scenario === "direct" ? ["R"] : ["A", "B"];
  const clientCount = setup.pairs * 2 + setup.background;
  // A shaping client forwards up to one envelope a round (a write slot a second); the link must
  // carry that or the backlog at the ingress grows for ever (16 forwards per batch).
  const batchesPerRound = Math.ceil((clientCount * 1.5) / 16);
  const relays = await startSimRelays(labels, timing.roundMs, records, batchesPerRound);
  const route: Route =
    scenario === "direct"
      ? { direct: relays[0]!.url }
      : { ingress: relays[0]!.url, inboxRelay: relays[1]!.url };
  const world: ChatWorld = { timing, records, cards: new Map(), sending: false, nextMessageId: 0 };
  const clients: ChatClient[] = [];
  try {
    const count = clientCount;
    // Addresses are handed out to roles at random, so nothing about an address says its role.
    const addresses = shuffled(Array.from({ length: count }, (_, i) => clientAddress(i)));
    for (const address of addresses) {
      clients.push(await ChatClient.create(address, route, profile, world));
    }
    const byAddress = new Map(clients.map((c) => [c.address, c]));
    const pairs: [string, string][] = [];
    for (let p = 0; p < setup.pairs; p++) pairs.push([addresses[2 * p]!, addresses[2 * p + 1]!]);
    const background = addresses.slice(setup.pairs * 2);
    for (const [a, b] of pairs) {
      byAddress.get(a)!.peers = () => [b];
      byAddress.get(b)!.peers = () => [a];
    }
    for (const address of background) {
      byAddress.get(address)!.peers = () => background.filter((x) => x !== address);
    }
    if (setup.lanes === "peers") for (const client of clients) client.coverPeers();
    const cast: PairCast = {
      pairs,
      background,
      inboxOf: Object.fromEntries(
        clients.map((c) => [c.address, Buffer.from(c.inbox.inboxId).toString("hex")]),
      ),
      relays: Object.fromEntries(relays.map((r) => [r.label, r.url])),
      batchesPerRound,
    };

    records.idle.start = performance.now();
    for (const client of clients) client.start();
    await sleep(timing.idleMs);
    records.idle.end = records.busy.start = performance.now();
    world.sending = true;
    const targets = pairs.map(([a]) => a);
    const sentBy = (address: string) =>
      records.messages.filter((m) => m.from === address && m.depositedAt !== undefined).length;
    const deadline = performance.now() + setup.maxBusyMs;
    let lastReport = performance.now();
    for (;;) {
      const least = Math.min(...targets.map(sentBy));
      if (least >= setup.messages || performance.now() > deadline) break;
      if (performance.now() - lastReport > 15_000) {
        progress(`  ${scenario}: the slowest target has sent ${least} of ${setup.messages}`);
        lastReport = performance.now();
      }
      await sleep(200);
    }
    world.sending = false;
    await sleep(timing.tailMs);
    records.busy.end = performance.now();
    await Promise.all(clients.map((c) => c.stop()));
    return { scenario, cast, records };
  } finally {
    world.sending = false;
    await Promise.allSettled(clients.map((c) => c.stop()));
    await stopSimRelays(relays);
  }
}
