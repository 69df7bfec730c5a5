import { systemClock, type Clock } from "../../relay/ports/clock.js";
import type { KeyStore } from "../../relay/ports/key-store.js";
import type { RelayPorts } from "../../relay/relay.js";
import { IntervalRoundScheduler } from "./interval-round-scheduler.js";
import { MemoryFederationQueue } from "./memory-federation-queue.js";
import { MemoryInboxStore, type MemoryInboxLimits } from "./memory-inbox-store.js";
import { MemoryKeyStore } from "./memory-key-store.js";
import { MemoryMetrics } from "./memory-metrics.js";
import { MemoryReplaySet } from "./memory-replay-set.js";
import { MemoryRoundPool, type MemoryRoundPoolOptions } from "./memory-round-pool.js";

/** The embedded backend's ports, with concrete types so tests can inspect them. */
export interface MemoryPorts extends RelayPorts {
  inboxes: MemoryInboxStore;
  pool: MemoryRoundPool;
  replay: MemoryReplaySet;
  metrics: MemoryMetrics;
  federation: MemoryFederationQueue;
}

/**
 * Every port on process memory. Keys come from `keys` (default: in memory, new each start);
 * `pool` caps the round pool (see MemoryRoundPoolOptions), `inboxes` the inbox store (see
 * MemoryInboxLimits), `replay` the replay set.
 *
 * @example const relay = await Relay.open(config, memoryPorts({ keys: fileKeyStore }));
 */
export function memoryPorts(
  options: {
    keys?: KeyStore;
    clock?: Clock;
    pool?: MemoryRoundPoolOptions;
    inboxes?: Partial<MemoryInboxLimits>;
    replay?: { maxRecords?: number };
  } = {},
): MemoryPorts {
  return {
    inboxes: new MemoryInboxStore(options.inboxes),
    pool: new MemoryRoundPool(options.pool),
    replay: new MemoryReplaySet(options.replay),
    keys: options.keys ?? new MemoryKeyStore(),
    clock: options.clock ?? systemClock,
    metrics: new MemoryMetrics(),
    rounds: new IntervalRoundScheduler(),
    federation: new MemoryFederationQueue(),
  };
}
