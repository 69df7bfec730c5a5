/**
 * A relay on the embedded memory store in this process, on an ephemeral port, with its log
 * captured: the relay most tests talk to.
 */
import { memoryPorts, type MemoryPorts } from "../src/adapters/memory/memory-ports.js";
import type { Clock } from "../src/relay/ports/clock.js";
import type { RelayConfig } from "../src/relay/relay-config.js";
import { startNodeRelay, type RunningRelay } from "../src/node.js";
import { collectingLogger } from "./collecting-logger.js";

export interface TestRelay extends RunningRelay {
  ports: MemoryPorts;
  logs: string[];
  /** Inbox and pool state, to assert that something changed nothing. */
  snapshot(): string;
}

/**
 * @example
 * const relay = await startTestRelay({ roundIntervalMs: 0 });
 * await relay.close();
 */
export async function startTestRelay(
  config: Partial<Omit<RelayConfig, "origin">> = {},
  clock?: Clock,
): Promise<TestRelay> {
  const logs: string[] = [];
  const ports: MemoryPorts = {
    ...memoryPorts(clock ? { clock } : {}),
    logger: collectingLogger(logs),
  };
  const running = await startNodeRelay({
    port: 0,
    ports,
    config: { roundIntervalMs: 60_000, ...config },
  });
  return {
    ...running,
    ports,
    logs,
    snapshot: () => ports.inboxes.snapshot() + ports.pool.snapshot(),
  };
}
