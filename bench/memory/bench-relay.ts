/**
 * A relay on the embedded backend (memoryPorts) with its full Hono app reachable in-process:
 * `fetch` hands a Request to `createRelayApp(relay).fetch`, no sockets involved.
 */
import { memoryPorts, type MemoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { createRelayApp } from "../../src/relay/app.js";
import { MemoryKeyStore } from "../../src/adapters/memory/memory-key-store.js";
import { MetricName } from "../../src/relay/ports/metrics.js";
import { relayConfig } from "../../src/relay/relay-config.js";
import { Relay } from "../../src/relay/relay.js";

/** Origin the bench relay names in its descriptor (never resolved: requests stay in-process). */
export const BENCH_ORIGIN = "http://relay.bench.invalid";

export interface BenchRelay {
  relay: Relay;
  ports: MemoryPorts;
  /** A fetch that serves every request from the relay's Hono app in this process. */
  fetch: typeof fetch;
}

/**
 * Opens and starts a relay with fresh keys in a MemoryKeyStore (round and maintenance timers
 * running, as `shroud serve` does).
 *
 * @example const bench = await openBenchRelay(1000);
 */
export async function openBenchRelay(roundIntervalMs: number): Promise<BenchRelay> {
  const ports = memoryPorts({ keys: new MemoryKeyStore() });
  const relay = await Relay.open(relayConfig({ origin: BENCH_ORIGIN, roundIntervalMs }), ports);
  const app = createRelayApp(relay);
  const inProcess: typeof fetch = async (input, init) => app.fetch(new Request(input, init));
  await relay.start();
  return { relay, ports, fetch: inProcess };
}

/** Deposits the relay accepted and items its rounds delivered to inboxes (from its metrics). */
export function depositCounts(bench: BenchRelay): { accepted: number; delivered: number } {
  const metrics = bench.ports.metrics;
  return {
    accepted: metrics.counter(MetricName.requests, { kind: "deposit", status: "accepted" }),
    delivered: metrics.counter(MetricName.itemsDelivered),
  };
}
