/** Starts relays on ephemeral ports for tests and records what crosses the wire. */
import { memoryPorts, type MemoryPorts } from "../../src/adapters/memory/memory-ports.js";
import type { Clock } from "../../src/relay/ports/clock.js";
import type { RelayConfig } from "../../src/relay/relay-config.js";
import { startNodeRelay, type RunningRelay } from "../../src/node.js";

export interface TestRelay extends RunningRelay {
  ports: MemoryPorts;
  logs: string[];
  /** Inbox and pool state, to assert that something changed nothing. */
  snapshot(): string;
}

export async function startTestRelay(
  config: Partial<Omit<RelayConfig, "origin">> = {},
  clock?: Clock,
): Promise<TestRelay> {
  const logs: string[] = [];
  const ports: MemoryPorts = {
    ...memoryPorts(clock ? { clock } : {}),
    log: (message) => logs.push(message),
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

export interface Exchange {
  path: string;
  requestLength: number;
  status: number;
  responseLength: number;
  requestBody?: Uint8Array;
}

/** A fetch that records every /v1/relay exchange's sizes (and bodies, for replay tests). */
export function recordingFetch(log: Exchange[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : input.toString());
    if (url.pathname !== "/v1/relay") return response;
    const body = new Uint8Array(await response.arrayBuffer());
    const requestBody: Uint8Array | undefined =
      init?.body instanceof Uint8Array ? new Uint8Array(init.body) : undefined;
    log.push({
      path: url.pathname,
      requestLength: requestBody?.length ?? -1,
      status: response.status,
      responseLength: body.length,
      ...(requestBody ? { requestBody } : {}),
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
}

export function manualClock(
  start = Date.UTC(2026, 10, 26, 12),
): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

export const text = (s: string) => new TextEncoder().encode(s);
export const untext = (b: Uint8Array) => new TextDecoder().decode(b);
