/**
 * Helpers for playing MLS groups across a Node relay and a Worker relay: the two relays as
 * federated peers, each behind one interface (its URL and its metrics),
 * through its ingress relay, and a barrier that makes concurrent commits race for one epoch.
 */
import { memoryPorts, type MemoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { RelayClient, type DepositTarget } from "../../src/client/relay-client.js";
import { startNodeRelay, type RunningRelay } from "../../src/node.js";
import { toHex } from "../../src/protocol/bytes.js";
import { metricSeries, type MetricLabels, type MetricName } from "../../src/relay/ports/metrics.js";
import { freePort } from "../../testkit/free-port.js";
import { startWorkerRelay, type WorkerRelay } from "../../testkit/worker-relay.js";
import { isCommitDeposit } from "../mls/support.js";
import { collectingLogger } from "../../testkit/collecting-logger.js";

/** One provider's relay as the scenario needs it, whatever it runs on. */
export interface Provider {
  url: string;
  counter(name: MetricName, labels?: MetricLabels): Promise<number>;
  /** Batches that ran out of delivery attempts. */
  deadLetters(): Promise<number>;
}

export interface RelayPair {
  node: Provider;
  worker: Provider;
  /** What the Node relay logged through ports.log (failures only, by design). */
  nodeLogs: string[];
  close(): Promise<void>;
}

/**
 * A Node relay (embedded store) and a Worker relay, each allowing only the other as its peer.
 * Both ports are chosen before either starts, since each must name the other's origin.
 */
export async function startRelayPair(roundMs: number): Promise<RelayPair> {
  const nodePort = await freePort();
  let workerPort = await freePort();
  while (workerPort === nodePort) workerPort = await freePort();
  const nodeUrl = `http://127.0.0.1:${nodePort}`;
  // The Worker first: it opens its relay (and starts sending batches) on its first request,
  // which is the Node relay's first batch, so neither sends to a peer that is not listening.
  const worker: WorkerRelay = await startWorkerRelay({
    port: workerPort,
    peers: [nodeUrl],
    roundMs,
  });
  const nodeLogs: string[] = [];
  const ports: MemoryPorts = Object.assign(memoryPorts(), {
    logger: collectingLogger(nodeLogs),
  });
  let node: RunningRelay;
  try {
    node = await startNodeRelay({
      port: nodePort,
      ports,
      config: { roundIntervalMs: roundMs, federation: { peers: [worker.url] } },
    });
  } catch (error) {
    await worker.close();
    await worker.remove();
    throw error;
  }
  return {
    node: {
      url: node.url,
      counter: async (name, labels) => ports.metrics.counter(name, labels),
      deadLetters: async () => (await ports.federation.deadLetters()).length,
    },
    worker: {
      url: worker.url,
      counter: (name, labels) => worker.counter(metricSeries(name, labels)),
      deadLetters: async () => (await worker.deadLetters()).length,
    },
    nodeLogs,
    async close() {
      await node.close();
      await worker.close();
      await worker.remove();
    },
  };
}

export interface CommitAttempt {
  /** Who deposited (the name given with the client). */
  by: string;
  /** The epoch inbox the commit went to (hex). */
  inbox: string;
  status: string;
}

/**
 * Holds the first commit deposit of each client until every client has one waiting, then lets
 * them all go: the commits are made in the same epoch and reach the relay together. Later
 * commit deposits pass straight through. Every commit deposit and its answer is logged (a
 * commit is told from other deposits as a member would, by opening it).
 */
export function commitBarrier(clients: { name: string; client: RelayClient }[]): CommitAttempt[] {
  const log: CommitAttempt[] = [];
  const waiting: (() => void)[] = [];
  let open = false;
  for (const { name, client } of clients) {
    const original = client.depositPayload.bind(client);
    let held = false;
    client.depositPayload = async (target, payload, options = {}) => {
      if (!(await isCommitDeposit(client, target, payload))) {
        return original(target, payload, options);
      }
      if (!open && !held) {
        held = true;
        await new Promise<void>((release) => {
          waiting.push(release);
          if (waiting.length === clients.length) {
            open = true;
            for (const go of waiting) go();
          }
        });
      }
      const result = await original(target, payload, options);
      const inboxId = (target as DepositTarget & { inboxId: Uint8Array }).inboxId;
      log.push({ by: name, inbox: toHex(inboxId), status: result.status });
      return result;
    };
  }
  return log;
}
