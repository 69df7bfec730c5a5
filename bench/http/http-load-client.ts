/**
 * The HTTP load client, run as its own process next to a relay (node dist/bench-run/bench/http/http-load-client.js
 * --url http://127.0.0.1:PORT). It creates inboxes, seals deposits with a real RelayClient before
 * any timing (captured, not sent), then POSTs those bodies over keep-alive node:http connections,
 * `connections` in flight, so the rate it measures is the relay's and not this process's
 * sealing. Lines on stdout are JSON (see http-load-report.ts).
 * The POSTs go over node:http (see http-poster.ts for why).
 */
import { Agent } from "node:http";
import { exit, stdout } from "node:process";
import { parseArgs } from "node:util";
import { createInbox, type Inbox } from "../../src/client/inbox.js";
import { RelayClient } from "../../src/client/relay-client.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { captureDeposits } from "../memory/captured-deposits.js";
import type { HttpLoadResult, LoadEvent } from "./http-load-report.js";
import { poster } from "./http-poster.js";
import { timedRun } from "../common/timed-run.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

/**
 * Bodies per connection sent first to warm up a fresh relay (JIT, connections; a cold relay
 * answers at well under half its rate), then some to measure its rate, which sizes the pool.
 */
const WARMUP_PER_CONNECTION = 20;
const CALIBRATION_PER_CONNECTION = 15;
/**
 * The pool holds this many times what the calibration rate says the run needs: the relay keeps
 * speeding up after the calibration (measured: windows ran ~1.45x the calibrated rate).
 */
const POOL_MARGIN = 1.8;

interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  inboxes: number;
  messageBytes: number;
}

function loadOptions(): LoadOptions {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      connections: { type: "string", default: "50" },
      seconds: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      inboxes: { type: "string", default: "32" },
      "message-bytes": { type: "string", default: "100" },
    },
  });
  const number = (text: string, name: string) => {
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`bad --${name} ${text}`);
    return value;
  };
  if (!values.url) throw new RangeError("--url is required");
  return {
    url: values.url,
    connections: Math.max(1, Math.floor(number(values.connections, "connections"))),
    seconds: number(values.seconds, "seconds"),
    warmupSeconds: number(values.warmup, "warmup"),
    inboxes: Math.max(1, Math.floor(number(values.inboxes, "inboxes"))),
    messageBytes: Math.floor(number(values["message-bytes"], "message-bytes")),
  };
}

function emit(event: LoadEvent): Promise<void> {
  return new Promise((resolve, reject) =>
    stdout.write(`${JSON.stringify(event)}\n`, (error) => (error ? reject(error) : resolve())),
  );
}

async function run(options: LoadOptions): Promise<HttpLoadResult> {
  const source = { origin: options.url, fetch };
  const descriptor = (await RelayClient.connect(options.url, { shaping: ShapingProfiles.off }))
    .descriptor;
  const inboxes: Inbox[] = [];
  for (let i = 0; i < options.inboxes; i++) {
    inboxes.push(await createInbox(options.url, descriptor.signingKey));
  }
  const message = randomBytes(options.messageBytes);
  const seal = (count: number) =>
    captureDeposits(source, inboxes, message, count, options.connections);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const statuses: Record<string, number> = {};
  const post = poster(options.url, agent, statuses);
  const timing = {
    seconds: options.seconds,
    warmupSeconds: options.warmupSeconds,
    concurrency: options.connections,
  };

  let sealSeconds = 0;
  const timedSeal = async (count: number) => {
    const started = performance.now();
    const bodies = await seal(count);
    sealSeconds += (performance.now() - started) / 1000;
    return bodies;
  };
  const perConnection = WARMUP_PER_CONNECTION + CALIBRATION_PER_CONNECTION;
  const calibrationBodies = await timedSeal(perConnection * options.connections);
  const warmupCount = WARMUP_PER_CONNECTION * options.connections;
  const allOf = (bodies: Uint8Array[]) => ({
    ...timing,
    seconds: 600,
    warmupSeconds: 0,
    limit: bodies.length,
  });
  const warming = calibrationBodies.slice(0, warmupCount);
  const relayWarmup = await timedRun((i) => post(warming[i]!), allOf(warming));
  const measuring = calibrationBodies.slice(warmupCount);
  const calibration = await timedRun((i) => post(measuring[i]!), allOf(measuring));
  if (calibration.ops === 0) throw new Error(`calibration failed: ${calibration.firstError}`);
  const poolSize =
    Math.ceil(POOL_MARGIN * calibration.perSecond * (options.seconds + options.warmupSeconds)) +
    options.connections;
  const bodies = await timedSeal(poolSize);
  const result = await timedRun((i) => post(bodies[i]!), {
    ...timing,
    limit: bodies.length,
    onWindowStart: () => void emit({ event: "window-start" }),
  });
  agent.destroy();
  return {
    connections: options.connections,
    inboxes: options.inboxes,
    messageBytes: options.messageBytes,
    bodyBytes: bodies[0]!.length,
    sealed: calibrationBodies.length + bodies.length,
    sealSeconds,
    relayWarmup,
    calibration,
    run: result,
    statuses,
    answered: relayWarmup.ops + calibration.ops + result.warmupOps + result.ops,
  };
}

try {
  await emit({ event: "result", result: await run(loadOptions()) });
  exit(0);
} catch (error) {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  exit(1);
}
