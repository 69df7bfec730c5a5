/**
 * The MLS part of `npm run bench`: relays A and B in child processes on the embedded memory
 * store, federated (mls-relay-pair.ts); a 50-member group whose inboxes live on A; group
 * messages/s and end-to-end latency with every request direct to A, then through B
 * (connectVia); then, on a third relay C without federation, the relay's and the clients' work
 * per group message against group size (mls-scaling.ts); last, a large group (1,000 members by
 * default) created, grown by one and messaged end to end through a second federated pair
 * (mls-large.ts). The relays are stopped afterwards, also on failure or Ctrl-C.
 */
import { availableParallelism } from "node:os";
import { cpuUsage } from "node:process";
import { setTimeout as sleep } from "node:timers/promises";
import { RelayClient } from "../../src/client/relay-client.js";
import type { BenchOptions } from "../common/bench-options.js";
import { Cleanup } from "../common/cleanup.js";
import { runFlow } from "./mls-flow.js";
import { benchDeps, buildGroup, type Routing } from "./mls-group.js";
import { loadAverage, machineWindow } from "./mls-machine.js";
import {
  oneRelayWindow,
  startMlsRelay,
  startMlsRelayPair,
  type MlsRelay,
} from "./mls-relay-pair.js";
import {
  printFlows,
  printMlsHeader,
  printScaling,
  type FlowRow,
  type MlsSetup,
} from "./mls-report.js";
import { measureScaling } from "./mls-scaling.js";
import { measureLargeGroup, reportLargeGroup } from "./mls-large.js";
import type { Figure } from "../common/figure.js";
import { formatNumber } from "../common/text-table.js";
import { ShapingProfiles } from "../../src/client/shaping-profile.js";

/** Round interval of both relays (as in the federation part). */
const ROUND_MS = 200;
const GROUP_SIZE = 50;
const SENDERS = 4;
const RECEIVERS = 4;
const POLL_MS = 20;
const PACE_MS = 100;
const MESSAGE_BYTES = 100;
const SCALING_SIZES = [1, 10, 50, 200] as const;
const SCALING_MESSAGES = 100;
const RAW_MESSAGES = 50;
const IDLE_SECONDS = 2;

/** Relay CPU ms per second with no traffic at all (rounds, maintenance, cover batches). */
async function idleRates(relays: readonly MlsRelay[]): Promise<number[]> {
  const windows = await Promise.all(relays.map(oneRelayWindow));
  const started = performance.now();
  await sleep(IDLE_SECONDS * 1000);
  const deltas = await Promise.all(windows.map((w) => w.done()));
  const seconds = (performance.now() - started) / 1000;
  return deltas.map((d) => d.cpuMs / seconds);
}

/**
 * @example await runMlsBench(parseBenchOptions());
 */
export async function runMlsBench(options: BenchOptions): Promise<Figure[]> {
  if (options.mlsLarge > 0 && options.mlsLarge < 3) {
    throw new RangeError("--mls-large needs at least 3 members (or 0 to skip the large group)");
  }
  const started = performance.now();
  const figures: Figure[] = [];
  const cleanup = new Cleanup();
  try {
    const loadAtStart = loadAverage();
    const pair = await startMlsRelayPair(ROUND_MS, cleanup);
    const relayC = await startMlsRelay("C", 0, undefined, ROUND_MS, cleanup);
    const direct = await RelayClient.connect(pair.a.url, { shaping: ShapingProfiles.off });
    const ingress = await RelayClient.connect(pair.b.url, { shaping: ShapingProfiles.off });
    const viaB = await RelayClient.connectVia(pair.a.url, ingress);
    const routing: Routing = { client: direct };
    const deps = benchDeps(routing);
    const setup: MlsSetup = {
      roundMs: ROUND_MS,
      groupSize: GROUP_SIZE,
      senders: SENDERS,
      receivers: RECEIVERS,
      pollMs: POLL_MS,
      paceMs: PACE_MS,
      seconds: options.mlsSeconds,
      messageBytes: MESSAGE_BYTES,
      relayPids: { a: pair.a.pid, b: pair.b.pid, c: relayC.pid },
      loadAverage: loadAtStart,
      cores: availableParallelism(),
    };
    printMlsHeader(setup);

    const buildStarted = performance.now();
    const group = await buildGroup(GROUP_SIZE, "g50", direct, deps, 2 * ROUND_MS);
    const joinTotal = group.joinMs.reduce((a, b) => a + b, 0);
    console.log(
      `Built the ${GROUP_SIZE}-member group in ` +
        `${formatNumber((performance.now() - buildStarted) / 1000, 1)} s: change({ add: 49 })` +
        ` ${formatNumber(group.addMs)} ms, 49 joins ${formatNumber(joinTotal)} ms` +
        ` (${formatNumber(joinTotal / group.joinMs.length, 1)} ms each).`,
    );
    const [idleA, idleB, idleC] = await idleRates([pair.a, pair.b, relayC]);
    console.log("");

    const senders = group.sessions.slice(0, SENDERS);
    const receivers = group.sessions.slice(SENDERS, SENDERS + RECEIVERS);
    const rows: FlowRow[] = [];
    const routes: [string, RelayClient][] = [
      ["direct to A", direct],
      ["via B", viaB],
    ];
    for (const [route, client] of routes) {
      routing.client = client;
      for (const paced of [true, false]) {
        const result = await runFlow(pair, {
          senders,
          receivers,
          seconds: options.mlsSeconds,
          ...(paced ? { paceMs: PACE_MS } : {}),
          pollMs: POLL_MS,
          drainMs: 10_000,
          messageBytes: MESSAGE_BYTES,
        });
        rows.push({ route, load: paced ? `paced ${1000 / PACE_MS}/s` : "flat out", result });
      }
    }
    printFlows(rows, setup, { a: idleA!, b: idleB! });

    const homeC = await RelayClient.connect(relayC.url, { shaping: ShapingProfiles.off });
    const machine = machineWindow();
    const ownCpu0 = cpuUsage();
    const relayCpu0 = await oneRelayWindow(relayC);
    const scaling = await measureScaling(relayC, homeC, benchDeps({ client: homeC }), {
      sizes: SCALING_SIZES,
      messages: SCALING_MESSAGES,
      rawMessages: RAW_MESSAGES,
      messageBytes: MESSAGE_BYTES,
      roundMs: ROUND_MS,
    });
    const use = machine.done();
    const own = cpuUsage(ownCpu0);
    const relayCpuMs = (await relayCpu0.done()).cpuMs;
    printScaling(
      scaling,
      idleC!,
      MESSAGE_BYTES,
      use && {
        busyCores: use.busyCores,
        ownCores: ((own.user + own.system) / 1000 + relayCpuMs) / 1000 / use.seconds,
        loadAverage: loadAverage(),
      },
    );
    if (options.mlsLarge > 0) {
      console.log("");
      figures.push(
        ...reportLargeGroup(await measureLargeGroup(options.mlsLarge, ROUND_MS, cleanup)),
      );
    }
  } finally {
    await cleanup.close();
  }
  console.log("");
  console.log(
    `MLS part: ${formatNumber((performance.now() - started) / 1000, 1)} s, cleaned up ` +
      "(relay processes stopped).",
  );
  return figures;
}
