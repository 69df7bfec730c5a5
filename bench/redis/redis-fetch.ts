/**
 * fetch.100: the relay's time to hand a reader an inbox of 100 messages on Redis. An in-process
 * relay on redisPorts answers a real RelayClient through its Hono app; only the app's handling
 * of each request is timed (open, Redis reads, seal, HTTP framing), not the client's sealing or
 * opening. One `fetchItems` of 100 may take several requests (each answer fills one bucket);
 * their times are added up.
 */
import { contactCard, createInbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { createRelayApp } from "../../src/relay/app.js";
import { relayConfig } from "../../src/relay/relay-config.js";
import { Relay } from "../../src/relay/relay.js";
import type { Cleanup } from "../common/cleanup.js";
import { median } from "../common/percentile.js";
import { BENCH_ORIGIN } from "../memory/bench-relay.js";
import { benchRedisPorts } from "./bench-redis-ports.js";
import type { BenchRedis } from "./redis-server-process.js";

const ITEMS = 100;
const MESSAGE_BYTES = 100;

export interface FetchTiming {
  items: number;
  messageBytes: number;
  /** Relay milliseconds of each timed read of the whole inbox. */
  readMs: number[];
  /** Requests one read took. */
  requestsPerRead: number;
  medianMs: number;
}

/**
 * @example const timing = await measureFetch100(redis, 30, cleanup);
 */
export async function measureFetch100(
  redis: BenchRedis,
  runs: number,
  cleanup: Cleanup,
): Promise<FetchTiming> {
  const { ports, close: closePorts } = benchRedisPorts(redis, "fetch", cleanup);
  const relay = await Relay.open(relayConfig({ origin: BENCH_ORIGIN, roundIntervalMs: 0 }), ports);
  const app = createRelayApp(relay);
  let timed: number[] | undefined;
  const inProcess: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const started = performance.now();
    const response = await app.fetch(request);
    const body = await response.arrayBuffer();
    timed?.push(performance.now() - started);
    return new Response(body, { status: response.status, headers: response.headers });
  };
  try {
    const client = await RelayClient.connect(BENCH_ORIGIN, {
      fetch: inProcess,
      shaping: ShapingProfiles.off,
    });
    const inbox = await createInbox(BENCH_ORIGIN, client.descriptor.signingKey);
    for (let i = 0; i < ITEMS; i++) {
      const result = await client.deposit(contactCard(inbox), randomBytes(MESSAGE_BYTES));
      if (result.status !== "accepted") throw new Error(`deposit answered ${result.status}`);
    }
    await relay.closeRound();
    const readMs: number[] = [];
    let requestsPerRead = 0;
    // The first reads warm the path up; the rest are timed.
    for (let run = -3; run < runs; run++) {
      timed = [];
      const read = await client.fetchAllItems(inbox);
      if (read.status !== "ok" || read.items.length !== ITEMS) {
        throw new Error(`read ${read.status === "ok" ? read.items.length : read.status} items`);
      }
      if (run >= 0) {
        readMs.push(timed.reduce((sum, ms) => sum + ms, 0));
        requestsPerRead = timed.length;
      }
    }
    timed = undefined;
    return {
      items: ITEMS,
      messageBytes: MESSAGE_BYTES,
      readMs,
      requestsPerRead,
      medianMs: median(readMs),
    };
  } finally {
    await relay.stop();
    await closePorts();
  }
}
