/**
 * Tokens issued per second through a relay's POST /v1/tokens: pre-blinded batch requests
 * (token-client.ts) sent over keep-alive connections, a few in flight, first a warm-up that is
 * not counted, then the measured batches. The relay runs in this process, so the process CPU
 * of the window is the relay's plus the little the HTTP client costs (no crypto: the bodies
 * are built, and the answers finished, outside the window); tokens-bench.ts times the issuer's
 * signing alone beside it (token-signing.ts). The event loop's delay is sampled in the window:
 * node:crypto's private operation is synchronous, and the issuer yields to the loop every 8
 * signatures, so the delay shows how long a batch holds up the relay's other requests.
 */
import { Agent } from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { cpuUsage } from "node:process";
import { timedRun, type TimedRunResult } from "../common/timed-run.js";
import { tokenPoster } from "./token-poster.js";

export interface IssuanceOptions {
  /** Batches sent first and not counted (their answers are kept all the same). */
  warmupBatches: number;
  /** Requests in flight at once. */
  inFlight: number;
  attestation: Record<string, string>;
}

export interface IssuanceRun {
  batchSize: number;
  inFlight: number;
  /** The measured batches: ops are batches, latencies per batch request. */
  run: TimedRunResult;
  /** Tokens issued in the measured window. */
  tokens: number;
  tokensPerSecond: number;
  /** User + system CPU of this process (relay and HTTP client) in the window, seconds. */
  cpuSeconds: number;
  /** The event loop's longest delay in the window and its p99, ms. */
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
  /** The issuer's answer to every body, warm-up included, in order. */
  answers: Uint8Array[];
}

/**
 * @example const run = await measureIssuance(url, blinded.bodies, 100, { warmupBatches: 2, inFlight: 4, attestation });
 */
export async function measureIssuance(
  url: string,
  bodies: readonly Uint8Array[],
  batchSize: number,
  options: IssuanceOptions,
): Promise<IssuanceRun> {
  if (bodies.length <= options.warmupBatches) throw new RangeError("no batches left to measure");
  const agent = new Agent({ keepAlive: true, maxSockets: options.inFlight });
  const post = tokenPoster(url, agent, options.attestation);
  const answers: Uint8Array[] = new Array<Uint8Array>(bodies.length);
  const send = (offset: number) => async (i: number) => {
    answers[offset + i] = await post(bodies[offset + i]!);
  };
  const all = (count: number) => ({
    seconds: 600,
    warmupSeconds: 0,
    concurrency: options.inFlight,
    limit: count,
  });
  try {
    const warmup = await timedRun(send(0), all(options.warmupBatches));
    if (warmup.errors > 0) throw new Error(`issuance warm-up failed: ${warmup.firstError}`);
    const measured = bodies.length - options.warmupBatches;
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const cpu = cpuUsage();
    const run = await timedRun(send(options.warmupBatches), all(measured));
    const used = cpuUsage(cpu);
    loop.disable();
    if (run.errors > 0) throw new Error(`issuance failed: ${run.firstError}`);
    const tokens = run.ops * batchSize;
    return {
      batchSize,
      inFlight: options.inFlight,
      run,
      tokens,
      tokensPerSecond: tokens / (run.elapsedMs / 1000),
      cpuSeconds: (used.user + used.system) / 1e6,
      loopDelayMaxMs: loop.max / 1e6,
      loopDelayP99Ms: loop.percentile(99) / 1e6,
      answers,
    };
  } finally {
    agent.destroy();
  }
}
