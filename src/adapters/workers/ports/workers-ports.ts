import { systemClock, type Clock } from "../../../relay/ports/clock.js";
import type { RoundPool } from "../../../relay/ports/round-pool.js";
import type { RelayPorts } from "../../../relay/relay.js";
import { AlarmRoundScheduler } from "./alarm-round-scheduler.js";
import { DurableInboxStore } from "./durable-inbox-store.js";
import { DurableKeyStore } from "./durable-key-store.js";
import { DurableMetrics } from "./durable-metrics.js";
import { DurableReplaySet } from "./durable-replay-set.js";
import { DurableRoundPool } from "./durable-round-pool.js";
import { federationName, keyRingName, metricsName, roundName } from "../object-names.js";
import type { WorkerConfig } from "../worker-config.js";
import type { WorkerEnv } from "../worker-env.js";
import { WorkersFederationQueue } from "./workers-federation-queue.js";

/** The Workers backend's ports, with concrete types for the entry point and tests. */
export interface WorkersPorts extends RelayPorts {
  inboxes: DurableInboxStore;
  replay: DurableReplaySet;
  keys: DurableKeyStore;
  metrics: DurableMetrics;
  rounds: AlarmRoundScheduler;
  federation: WorkersFederationQueue;
}

/**
 * Every port on Durable Objects and Cloudflare Queues, for the relay named `instance`. The round
 * object passes its own storage as `pool`; everyone else reaches the pool through the object.
 *
 * @example const ports = workersPorts(env, workerConfig(env));
 */
export function workersPorts(
  env: WorkerEnv,
  config: Pick<WorkerConfig, "instance" | "masterKey">,
  options: { pool?: RoundPool; clock?: Clock } = {},
): WorkersPorts {
  const { instance } = config;
  // Stubs are made per call: a stub belongs to the request that made it, and ports outlive it.
  const round = () => env.ROUNDS.get(env.ROUNDS.idFromName(roundName(instance)));
  return {
    inboxes: new DurableInboxStore(env, instance),
    pool: options.pool ?? new DurableRoundPool(round),
    replay: new DurableReplaySet(env, instance),
    keys: new DurableKeyStore(
      () => env.KEYRING.get(env.KEYRING.idFromName(keyRingName(instance))),
      config.masterKey,
    ),
    clock: options.clock ?? systemClock,
    metrics: new DurableMetrics(() =>
      env.METRICS.get(env.METRICS.idFromName(metricsName(instance))),
    ),
    rounds: new AlarmRoundScheduler(round, instance),
    federation: new WorkersFederationQueue(
      () => env.FEDERATION.get(env.FEDERATION.idFromName(federationName(instance))),
      env.FEDERATION_QUEUE,
      instance,
    ),
  };
}
