/**
 * Forwarded deposits carried A -> B end to end: pre-sealed forwards (deposits for inboxes on B,
 * each wrapped in a forward to A) POSTed to A over keep-alive connections, a fixed number in
 * flight, for a fixed time; meanwhile the bench samples A's held slots for B, B's open round and
 * the items visible in B's inboxes, and afterwards waits until everything A accepted is visible
 * at B (or stops making progress).
 */
import { Agent } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { createInbox, type Inbox } from "../../src/client/inbox.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import type { ForwardSealer } from "./captured-forwards.js";
import type { FederationPair } from "./federation-pair.js";
import { linkDelta, type FederationProbe, type LinkCounters } from "./federation-probe.js";
import { poster } from "../http/http-poster.js";
import { processCpuSeconds } from "../common/process-cpu.js";
import { timedRun, type TimedRunResult } from "../common/timed-run.js";

/** Forwards per connection sent before the window: warms A, B and the link; sizes the pool. */
const CALIBRATION_PER_CONNECTION = 20;
/**
 * The pool holds this many times what the calibration rate says the window needs: the relays
 * are still warming up during the calibration.
 */
const POOL_MARGIN = 2;
/**
 * Seconds the window's sealing may take at the calibration's sealing rate (each forward is three
 * HPKE seals, in this process); fewer forwards than the window needs shorten the window.
 */
const SEAL_BUDGET_SECONDS = 14;
const SAMPLE_MS = 50;
/** Waiting for the backlog to reach B stops after this long without progress, or in total. */
const DRAIN_STALL_MS = 10_000;
const DRAIN_LIMIT_MS = 40_000;

export interface ThroughputOptions {
  seconds: number;
  inFlight: number;
  inboxes: number;
  messageBytes: number;
}

/** One reading of both relays' state, `at` ms after the window opened. */
export interface StatePoint {
  at: number;
  /** Forwards A had answered 200 by then (this window's). */
  accepted: number;
  heldAtA: number;
  pendingAtB: number;
  /** Items visible in the inboxes on B (this window's deposits). */
  visible: number;
}

export interface FederationThroughput {
  roundMs: number;
  inFlight: number;
  inboxes: number;
  messageBytes: number;
  bodyBytes: number;
  /** Forwards sealed (calibration and window) and the seconds sealing took. */
  sealed: number;
  sealSeconds: number;
  calibration: TimedRunResult;
  /** ms from the calibration's end until all of it was visible at B. */
  calibrationDrainMs: number;
  run: TimedRunResult;
  statuses: Record<string, number>;
  /** Readings from the window's start until the backlog was visible at B (or gave up). */
  timeline: StatePoint[];
  /** ms after the window opened when the last of the window's deposits was visible at B. */
  allVisibleAt: number | undefined;
  /** Window deposits visible at B in the end (should equal run.ops). */
  delivered: number;
  link: LinkCounters;
  /** ms over which `link` was counted: the window and the drain. */
  linkMs: number;
  /** CPU seconds each process used in the window (undefined where /proc is not available). */
  cpu: {
    seconds: number;
    load: number | undefined;
    relayA: number | undefined;
    relayB: number | undefined;
    redisA: number | undefined;
    redisB: number | undefined;
  };
}

class Sampler {
  readonly points: StatePoint[] = [];
  #stopped = false;
  #loop: Promise<void> | undefined;

  constructor(
    private readonly probe: FederationProbe,
    private readonly inboxes: readonly Inbox[],
    private readonly accepted: () => number,
    private readonly visibleBase: number,
  ) {}

  start(origin: number): void {
    this.#loop = (async () => {
      while (!this.#stopped) {
        const [heldAtA, pendingAtB, visible] = await Promise.all([
          this.probe.heldAtA(),
          this.probe.pendingAtB(),
          this.probe.visibleAtB(this.inboxes),
        ]);
        this.points.push({
          at: performance.now() - origin,
          accepted: this.accepted(),
          heldAtA,
          pendingAtB,
          visible: visible - this.visibleBase,
        });
        await sleep(SAMPLE_MS);
      }
    })();
  }

  get last(): StatePoint | undefined {
    return this.points[this.points.length - 1];
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }
}

/**
 * Waits until `count` deposits are visible at B; resolves with the performance.now() at which
 * they were, or undefined when they stopped coming.
 */
async function waitVisible(
  probe: FederationProbe,
  inboxes: readonly Inbox[],
  count: number,
): Promise<number | undefined> {
  const started = performance.now();
  let last = -1;
  let progressed = started;
  for (;;) {
    const visible = await probe.visibleAtB(inboxes);
    const now = performance.now();
    if (visible >= count) return now;
    if (visible > last) [last, progressed] = [visible, now];
    if (now - progressed > DRAIN_STALL_MS || now - started > DRAIN_LIMIT_MS) return undefined;
    await sleep(SAMPLE_MS / 5);
  }
}

/**
 * @example const figures = await measureFederationThroughput(pair, probe, sealer, options);
 */
export async function measureFederationThroughput(
  pair: FederationPair,
  probe: FederationProbe,
  sealer: ForwardSealer,
  options: ThroughputOptions,
): Promise<FederationThroughput> {
  const inboxes: Inbox[] = [];
  for (let i = 0; i < options.inboxes; i++) {
    inboxes.push(await createInbox(pair.b.url, sealer.target.descriptor.signingKey));
  }
  const message = randomBytes(options.messageBytes);
  let sealSeconds = 0;
  const seal = async (count: number) => {
    const started = performance.now();
    const bodies = await sealer.seal(inboxes, message, count, options.inFlight);
    sealSeconds += (performance.now() - started) / 1000;
    return bodies;
  };
  const agent = new Agent({ keepAlive: true, maxSockets: options.inFlight });
  try {
    const statuses: Record<string, number> = {};
    const post = poster(pair.a.url, agent, statuses);
    const allOf = (bodies: Uint8Array[]) => ({
      seconds: 600,
      warmupSeconds: 0,
      concurrency: options.inFlight,
      limit: bodies.length,
    });

    const calibrationBodies = await seal(CALIBRATION_PER_CONNECTION * options.inFlight);
    const calibration = await timedRun(
      (i) => post(calibrationBodies[i]!),
      allOf(calibrationBodies),
    );
    if (calibration.ops === 0) throw new Error(`calibration failed: ${calibration.firstError}`);
    const calibrationEnd = performance.now();
    const calibrationVisible = await waitVisible(probe, inboxes, calibration.ops);
    if (calibrationVisible === undefined) {
      throw new Error("the calibration's forwards did not all become visible at B");
    }

    const sealRate = calibrationBodies.length / sealSeconds;
    const poolSize = Math.min(
      Math.floor(sealRate * SEAL_BUDGET_SECONDS),
      Math.ceil(POOL_MARGIN * calibration.perSecond * options.seconds) + options.inFlight,
    );
    const bodies = await seal(poolSize);
    const visibleBase = await probe.visibleAtB(inboxes);
    const linkBefore = await probe.link();
    let accepted = 0;
    const sampler = new Sampler(probe, inboxes, () => accepted, visibleBase);
    const pids = [process.pid, pair.a.pid, pair.b.pid, pair.a.redis.pid, pair.b.redis.pid];
    let cpuStart: (number | undefined)[] = [];
    let windowStart = 0;
    let run: TimedRunResult;
    try {
      run = await timedRun(
        async (i) => {
          await post(bodies[i]!);
          accepted++;
        },
        {
          seconds: options.seconds,
          warmupSeconds: 0,
          concurrency: options.inFlight,
          limit: bodies.length,
          onWindowStart: () => {
            windowStart = performance.now();
            cpuStart = pids.map(processCpuSeconds);
            sampler.start(windowStart);
          },
        },
      );
    } catch (error) {
      await sampler.stop();
      throw error;
    }
    const cpuEnd = pids.map(processCpuSeconds);
    const cpuSeconds = (performance.now() - windowStart) / 1000;
    const allVisible = await waitVisible(probe, inboxes, visibleBase + run.ops);
    await sampler.stop();
    const delivered = (await probe.visibleAtB(inboxes)) - visibleBase;
    const used = (k: number) => {
      const [a, b] = [cpuStart[k], cpuEnd[k]];
      return a === undefined || b === undefined ? undefined : b - a;
    };
    return {
      roundMs: pair.roundMs,
      inFlight: options.inFlight,
      inboxes: options.inboxes,
      messageBytes: options.messageBytes,
      bodyBytes: bodies[0]!.length,
      sealed: calibrationBodies.length + bodies.length,
      sealSeconds,
      calibration,
      calibrationDrainMs: calibrationVisible - calibrationEnd,
      run,
      statuses,
      timeline: sampler.points,
      allVisibleAt: allVisible === undefined ? undefined : allVisible - windowStart,
      delivered,
      link: linkDelta(linkBefore, await probe.link()),
      linkMs: performance.now() - windowStart,
      cpu: {
        seconds: cpuSeconds,
        load: used(0),
        relayA: used(1),
        relayB: used(2),
        redisA: used(3),
        redisB: used(4),
      },
    };
  } finally {
    agent.destroy();
  }
}
