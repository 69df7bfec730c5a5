/**
 * The relays of a run: real relays (src/node.ts startNodeRelay) on loopback ports, on the
 * embedded store, each with its operator's notebook around its ports (operator-tap.ts). Two
 * relays federate with each other as peers; the per-address request rate is off, since every
 * proxied request of an ingress relay arrives at the other relay from one address. Everything
 * else is the relays' defaults (ingress release per round, a fixed number of batches per link
 * and round), except the link rate, which the scenario sizes for its clients.
 */
import { createServer } from "node:net";
import { memoryPorts } from "../src/adapters/memory/memory-ports.js";
import { startNodeRelay, type RunningRelay } from "../src/node.js";
import { operatorTap } from "./operator-tap.js";
import type { RunRecords } from "./records.js";
import { watchRequests } from "./request-context.js";

export interface SimRelay {
  label: string;
  url: string;
  running: RunningRelay;
}

/** A port free right now on 127.0.0.1 (both relays must know each other's origin up front). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts relays labelled `labels` (one: alone; two: federated peers) with rounds of `roundMs`.
 *
 * @example
 * const [a, b] = await startSimRelays(["A", "B"], 250, records);
 * try { ... } finally { await stopSimRelays([a, b]); }
 */
export async function startSimRelays(
  labels: readonly string[],
  roundMs: number,
  records: RunRecords,
  /** Batches each link carries a round (room for `16 ×` this many forwards a round). */
  batchesPerRound = 1,
): Promise<SimRelay[]> {
  watchRequests();
  const ports = await Promise.all(labels.map(() => freePort()));
  const urls = ports.map((port) => `http://127.0.0.1:${port}`);
  const started: SimRelay[] = [];
  try {
    for (const [i, label] of labels.entries()) {
      const running = await startNodeRelay({
        host: "127.0.0.1",
        port: ports[i]!,
        ports: operatorTap(memoryPorts(), label, records.operator, records.relayLinks),
        limits: { requestsPerSecond: 0, maxConnectionsPerAddress: 0 },
        config: {
          roundIntervalMs: roundMs,
          ...(labels.length > 1
            ? { federation: { peers: urls.filter((_, j) => j !== i), batchesPerRound } }
            : {}),
        },
      });
      started.push({ label, url: running.url, running });
    }
  } catch (error) {
    await stopSimRelays(started);
    throw error;
  }
  return started;
}

/**
 * Stops the relays (each delivers its open round first).
 *
 * @example await stopSimRelays(relays);
 */
export async function stopSimRelays(relays: readonly SimRelay[]): Promise<void> {
  await Promise.all(relays.map((r) => r.running.close()));
}
