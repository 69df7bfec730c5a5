/**
 * Sealed deposits per second over HTTP to a relay that requires a token with every deposit,
 * beside the same relay that does not: the same load shape for both (the same number of
 * deposits after the same warm-up, the same requests in flight, inboxes and message size).
 * Every body is sealed by a real RelayClient before the timing (captured-deposits.ts); for the
 * relay that wants tokens the client takes one per deposit from a wallet filled with tokens the
 * issuer relay signed beforehand, so issuance is not in the window and each token is spent
 * once. The bodies go over keep-alive node:http (bench/http/http-poster.ts) from this process,
 * where the relays run too.
 *
 * Both relays run at once and the measured deposits go in slices, one relay's then the other's
 * (which goes first alternates), so that what else the shared machine does meanwhile falls on
 * both alike rather than on whichever ran second. The warm-up starts at full concurrency, so a
 * relay's first redemptions meet while it indexes the issuer's keys. Each relay's metrics must
 * show every deposit accepted afterwards: a deposit refused for its token would be cheap and
 * flatter the figure.
 */
import { Agent } from "node:http";
import { cpuUsage } from "node:process";
import { MemoryMetrics } from "../../src/adapters/memory/memory-metrics.js";
import { createInbox, type Inbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";
import type { TokenWallet } from "../../src/client/token-wallet.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import type { RunningRelay } from "../../src/node.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { ascending, percentile } from "../common/percentile.js";
import { timedRun } from "../common/timed-run.js";
import { poster } from "../http/http-poster.js";
import { captureDeposits } from "../memory/captured-deposits.js";

export interface DepositLoad {
  /** Deposits sent to each relay first and not counted. */
  warmup: number;
  /** Measured deposits to each relay. */
  count: number;
  /** Slices the measured deposits go in, alternating between the relays. */
  slices: number;
  inFlight: number;
  inboxes: number;
  messageBytes: number;
}

/** One relay to measure; with a wallet, its client pays a token for each deposit. */
export interface DepositTarget {
  relay: RunningRelay;
  wallet?: TokenWallet;
}

export interface DepositRun {
  /** Size of every request body (the deposit's bucket). */
  bodyBytes: number;
  /** Wall time of sealing all the bodies (warm-up included), seconds. */
  sealSeconds: number;
  inFlight: number;
  /** Measured deposits (all answered 200) and the time their slices took together. */
  ops: number;
  elapsedMs: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** User + system CPU of this process (the relays and HTTP client) in the slices, seconds. */
  cpuSeconds: number;
}

interface Lane {
  target: DepositTarget;
  bodies: Uint8Array[];
  sealSeconds: number;
  post: (body: Uint8Array) => Promise<void>;
  latencies: number[];
  ops: number;
  elapsedMs: number;
  cpuSeconds: number;
}

/** The relay's deposit counters by status (its metrics on the memory store). */
function depositStatuses(relay: RunningRelay): Record<string, number> {
  const metrics = relay.relay.ports.metrics;
  if (!(metrics instanceof MemoryMetrics)) throw new Error("the relay is not on the memory store");
  const statuses: Record<string, number> = {};
  for (const status of ["accepted", "token_required", "token_refused", "quota", "internal"]) {
    const n = metrics.counter(MetricName.requests, { kind: "deposit", status });
    if (n > 0) statuses[status] = n;
  }
  return statuses;
}

/** Inboxes on the target's relay and every body sealed, warm-up included. */
async function seal(target: DepositTarget, load: DepositLoad, agent: Agent): Promise<Lane> {
  const { url } = target.relay;
  const client = await RelayClient.connect(url, { shaping: ShapingProfiles.off });
  client.close();
  const inboxes: Inbox[] = [];
  for (let i = 0; i < load.inboxes; i++) {
    inboxes.push(await createInbox(url, client.descriptor.signingKey));
  }
  const total = load.warmup + load.count;
  const held = target.wallet?.size ?? 0;
  const started = performance.now();
  const bodies = await captureDeposits(
    { origin: url, fetch },
    inboxes,
    randomBytes(load.messageBytes),
    total,
    load.inFlight,
    target.wallet,
  );
  const sealSeconds = (performance.now() - started) / 1000;
  if (target.wallet && held - target.wallet.size !== total) {
    throw new Error(`${held - target.wallet.size} tokens spent on ${total} deposits`);
  }
  const post = poster(url, agent, {});
  return { target, bodies, sealSeconds, post, latencies: [], ops: 0, elapsedMs: 0, cpuSeconds: 0 };
}

function runOf(lane: Lane, inFlight: number): DepositRun {
  const sorted = ascending(lane.latencies);
  return {
    bodyBytes: lane.bodies[0]!.length,
    sealSeconds: lane.sealSeconds,
    inFlight,
    ops: lane.ops,
    elapsedMs: lane.elapsedMs,
    perSecond: lane.ops / (lane.elapsedMs / 1000),
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    cpuSeconds: lane.cpuSeconds,
  };
}

/**
 * @example const [free, paid] = await measureDeposits([{ relay: off }, { relay: always, wallet }], load);
 */
export async function measureDeposits(
  targets: readonly DepositTarget[],
  load: DepositLoad,
): Promise<DepositRun[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: load.inFlight });
  const all = (count: number) => ({
    seconds: 600,
    warmupSeconds: 0,
    concurrency: load.inFlight,
    limit: count,
  });
  try {
    const lanes: Lane[] = [];
    for (const target of targets) lanes.push(await seal(target, load, agent));
    for (const lane of lanes) {
      const warmup = await timedRun((i) => lane.post(lane.bodies[i]!), all(load.warmup));
      if (warmup.errors > 0) throw new Error(`deposit warm-up failed: ${warmup.firstError}`);
    }
    const slice = Math.ceil(load.count / load.slices);
    for (let s = 0; s * slice < load.count; s++) {
      const from = load.warmup + s * slice;
      const size = Math.min(slice, load.count - s * slice);
      const order = s % 2 === 0 ? lanes : [...lanes].reverse();
      for (const lane of order) {
        const send = async (i: number) => {
          const started = performance.now();
          await lane.post(lane.bodies[from + i]!);
          lane.latencies.push(performance.now() - started);
        };
        const cpu = cpuUsage();
        const run = await timedRun(send, all(size));
        const used = cpuUsage(cpu);
        if (run.errors > 0) throw new Error(`deposits failed: ${run.firstError}`);
        lane.ops += run.ops;
        lane.elapsedMs += run.elapsedMs;
        lane.cpuSeconds += (used.user + used.system) / 1e6;
      }
    }
    const total = load.warmup + load.count;
    for (const lane of lanes) {
      const statuses = depositStatuses(lane.target.relay);
      if (statuses.accepted !== total || Object.keys(statuses).length !== 1) {
        throw new Error(`of ${total} deposits a relay counted ${JSON.stringify(statuses)}`);
      }
    }
    return lanes.map((lane) => runOf(lane, load.inFlight));
  } finally {
    agent.destroy();
  }
}
