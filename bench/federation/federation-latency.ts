/**
 * Latency of one forwarded deposit, A -> B, at a low rate: a RelayClient deposits into an inbox
 * on B through A (connectVia), one deposit at a time after a random pause, and the bench polls
 * both Redis servers until the deposit is visible in B's inbox, noting when A's round claimed it
 * (A's held set for B empties), when B took it from A's batch (B's forwarded_deposit counter
 * moves) and when B's round made it visible (the item is in the inbox's zset).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { randomBelow } from "../../src/relay/shuffle.js";
import type { ForwardSealer } from "./captured-forwards.js";
import type { FederationPair } from "./federation-pair.js";
import type { FederationProbe } from "./federation-probe.js";

/** Pause between two polls of the Redis state. */
const POLL_MS = 1;

export interface LatencyOptions {
  /** Measured deposits, one at a time. */
  samples: number;
  /** Deposits sent first and not counted (JIT, connections, descriptors). */
  warmup: number;
  messageBytes: number;
}

/** One forwarded deposit's timeline in ms; `total` = waitA + hop + waitB. */
export interface LatencySample {
  /** A answered "forwarded" -> visible in the inbox on B. */
  total: number;
  /** A answered -> A's round claimed it into a batch for B. */
  waitA: number;
  /** Claimed at A -> taken at B (signed batch, BullMQ, POST /v1/federation, open, deposit). */
  hop: number;
  /** Taken at B -> visible (waiting for B's round, and the close itself). */
  waitB: number;
  /** The client's deposit call: sealing three layers and A's answer. */
  depositCall: number;
}

export interface FederationLatency {
  roundMs: number;
  samples: LatencySample[];
  warmup: number;
  /** Deposits that were not visible at B within the time limit (left out of `samples`). */
  timedOut: number;
  /** Mean time between two readings of the Redis state: the resolution of the figures. */
  pollIntervalMs: number;
  /**
   * How long after A's rounds B's rounds close (0..T), from the two schedules, read before and
   * after the samples; undefined when a schedule could not be read.
   */
  phaseMs: [number | undefined, number | undefined];
}

/** B's schedule minus A's, modulo the round interval. */
async function phase(probe: FederationProbe, roundMs: number): Promise<number | undefined> {
  const { a, b } = await probe.nextRounds();
  if (a === undefined || b === undefined) return undefined;
  return (((b - a) % roundMs) + roundMs) % roundMs;
}

/**
 * @example const latency = await measureFederationLatency(pair, probe, sealer, { samples: 40, ... });
 */
export async function measureFederationLatency(
  pair: FederationPair,
  probe: FederationProbe,
  sealer: ForwardSealer,
  options: LatencyOptions,
): Promise<FederationLatency> {
  const inbox = await createInbox(pair.b.url, sealer.target.descriptor.signingKey);
  const card = contactCard(inbox);
  const message = randomBytes(options.messageBytes);
  const limitMs = 4 * pair.roundMs + 10_000;
  const samples: LatencySample[] = [];
  let timedOut = 0;
  let polls = 0;
  let pollingMs = 0;
  const phaseBefore = await phase(probe, pair.roundMs);
  for (let i = 0; i < options.warmup + options.samples; i++) {
    // A random phase against both relays' round schedules.
    await sleep(randomBelow(pair.roundMs));
    const [visibleBefore, takenBefore] = await Promise.all([
      probe.visibleAtB([inbox]),
      probe.depositsTakenAtB(),
    ]);
    const called = performance.now();
    const result = await sealer.target.deposit(card, message);
    const accepted = performance.now();
    if (result.status !== "forwarded") throw new Error(`forward answered ${result.status}`);
    let claimed: number | undefined;
    let taken: number | undefined;
    let visible: number | undefined;
    while (visible === undefined && performance.now() - accepted < limitMs) {
      const [held, takenCount, visibleCount] = await Promise.all([
        probe.heldAtA(),
        probe.depositsTakenAtB(),
        probe.visibleAtB([inbox]),
      ]);
      const at = performance.now();
      polls++;
      if (held === 0) claimed ??= at;
      if (takenCount > takenBefore) taken ??= at;
      if (visibleCount > visibleBefore) visible = at;
      if (visible === undefined) await sleep(POLL_MS);
    }
    pollingMs += performance.now() - accepted;
    if (visible === undefined) {
      timedOut++;
      continue;
    }
    // An event first seen in the same reading as a later one happened no later than it.
    taken ??= visible;
    claimed = Math.min(claimed ?? taken, taken);
    if (i < options.warmup) continue;
    samples.push({
      total: visible - accepted,
      waitA: claimed - accepted,
      hop: taken - claimed,
      waitB: visible - taken,
      depositCall: accepted - called,
    });
  }
  return {
    roundMs: pair.roundMs,
    samples,
    warmup: options.warmup,
    timedOut,
    pollIntervalMs: polls === 0 ? NaN : pollingMs / polls,
    phaseMs: [phaseBefore, await phase(probe, pair.roundMs)],
  };
}
