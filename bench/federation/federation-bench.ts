/**
 * The federation part of `npm run bench`: two redis-servers (or REDIS_URL twice, with prefixes
 * of their own), relays A and B on them federated with each other, then (2) the latency of
 * single forwarded deposits A -> B at a low rate and (1) forwarded deposits/s carried A -> B end
 * to end. Both relays, both Redis servers and their directories are removed afterwards, also on
 * failure or Ctrl-C.
 */
import type { BenchOptions } from "../common/bench-options.js";
import { ForwardSealer } from "./captured-forwards.js";
import { Cleanup } from "../common/cleanup.js";
import { measureFederationLatency } from "./federation-latency.js";
import { STOP_GRACE_MS, startFederationPair, type FederatedRelay } from "./federation-pair.js";
import { FederationProbe } from "./federation-probe.js";
import {
  printFederationHeader,
  printFederationLatency,
  printFederationThroughput,
  printRelayLogs,
  printShutdowns,
  type RelayShutdown,
} from "./federation-report.js";
import { measureFederationThroughput } from "./federation-throughput.js";
import { redisVersion } from "../redis/redis-info.js";
import { benchRedis } from "../redis/redis-server-process.js";
import { formatNumber } from "../common/text-table.js";

/** Round interval of both relays. */
const ROUND_MS = 200;
const IN_FLIGHT = 50;
const MESSAGE_BYTES = 100;
const LATENCY_SAMPLES = 50;
const LATENCY_WARMUP = 3;

async function stopRelay(relay: FederatedRelay): Promise<RelayShutdown> {
  const started = performance.now();
  await relay.stop();
  const code = await relay.exited();
  return { name: relay.name, code, ms: performance.now() - started };
}

/**
 * @example await runFederationBench(parseBenchOptions());
 */
export async function runFederationBench(options: BenchOptions): Promise<void> {
  const started = performance.now();
  const cleanup = new Cleanup();
  try {
    const redisA = await benchRedis(cleanup);
    const redisB = await benchRedis(cleanup);
    const pair = await startFederationPair(redisA, redisB, ROUND_MS, cleanup);
    printFederationHeader(pair, await redisVersion(pair.a.admin));
    const probe = new FederationProbe(pair);
    const sealer = await ForwardSealer.connect(pair.a.url, pair.b.url);
    // Latency first, on otherwise idle relays; printed second.
    const latency = await measureFederationLatency(pair, probe, sealer, {
      samples: LATENCY_SAMPLES,
      warmup: LATENCY_WARMUP,
      messageBytes: MESSAGE_BYTES,
    });
    const throughput = await measureFederationThroughput(pair, probe, sealer, {
      seconds: options.federationSeconds,
      inFlight: IN_FLIGHT,
      inboxes: options.inboxes,
      messageBytes: MESSAGE_BYTES,
    });
    printFederationThroughput(throughput);
    printFederationLatency(latency);
    printRelayLogs(pair);
    // B first, while its peer A still delivers a batch to it every round; then A.
    const shutdowns: RelayShutdown[] = [];
    for (const relay of [pair.b, pair.a]) shutdowns.push(await stopRelay(relay));
    printShutdowns(shutdowns, STOP_GRACE_MS);
  } finally {
    await cleanup.close();
  }
  console.log(
    `Federation part: ${formatNumber((performance.now() - started) / 1000, 1)} s, cleaned up ` +
      "(relays closed, both redis-servers stopped and their directories removed).",
  );
}
