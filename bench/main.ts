/**
 * `npm run bench`: sealed deposits per second through an in-process relay, next to the raw HPKE
 * open rate of the same suite; then the Redis backend (redis-bench.ts): deposits/s over HTTP
 * against `shroud serve --redis`, round close time and memory per item; then federation
 * (federation-bench.ts): forwarded deposits/s carried from relay A to relay B, both on Redis,
 * and the latency a hop adds beyond the round interval; then MLS groups (mls-bench.ts): group
 * messages/s and end-to-end latency for a 50-member group through two relays, and the work per
 * group message against group size; then Workers (workers-bench.ts): deposits/s and CPU per
 * deposit of the relay inside workerd beside the Node relay; then Privacy Pass tokens
 * (tokens/tokens-bench.ts): tokens issued per second through POST /v1/tokens singly and in
 * batches beside the issuer's signing alone, the client's and the redeeming relay's cost per
 * token, and sealed deposits/s over HTTP to a relay that requires a token beside the same relay
 * that does not. From one run; nothing here asserts, it prints tables. --no-memory, --no-redis,
 * --no-federation, --no-mls, --no-workers and --no-tokens skip a part; --only-mls,
 * --only-workers and --only-tokens run one part alone. The memory part starts with HPKE
 * opens of 4 KiB requests on both sets of primitives against a node:crypto floor
 * (memory/hpke-open.ts). After it, the stores part (sqlite/store-bench.ts; --no-stores skips it)
 * runs deposits and a round close through the ports of the in-memory, SQLite and Redis stores
 * side by side. The Redis Cluster part (redis/redis-cluster.ts) runs only when asked for:
 * --only-cluster alone, --cluster after the rest; it compares one redis-server with a 3-master
 * cluster (deposits/s, each master's share of the commands, round close of 10,000 entries).
 * --json FILE writes the named figures (docs/BENCHMARKS.md lists them).
 */
import { writeFile } from "node:fs/promises";
import { exit } from "node:process";
import { contactCard, createInbox, type Inbox } from "../src/client/inbox.js";
import { RelayClient } from "../src/client/relay-client.js";
import { randomBytes } from "../src/protocol/bytes.js";
import { openRequest, requestKeyId } from "../src/protocol/envelope.js";
import { DEFAULT_RELAY_CONFIG } from "../src/relay/relay-config.js";
import { bareOpener } from "./memory/bare-open.js";
import { measureHpkeOpen } from "./memory/hpke-open.js";
import { useNodeHpke } from "../src/adapters/node/node-hpke-primitives.js";
import { parseBenchOptions, type BenchOptions } from "./common/bench-options.js";
import { BENCH_ORIGIN, depositCounts, openBenchRelay } from "./memory/bench-relay.js";
import { captureDeposits } from "./memory/captured-deposits.js";
import { environment } from "./common/environment.js";
import { runFederationBench } from "./federation/federation-bench.js";
import { runMlsBench } from "./mls/mls-bench.js";
import { runRedisBench } from "./redis/redis-bench.js";
import { runClusterBench } from "./redis/redis-cluster.js";
import type { Figure } from "./common/figure.js";
import { runStoreBench } from "./sqlite/store-bench.js";
import { formatNumber, textTable } from "./common/text-table.js";
import { timedRun, type TimedRunResult } from "./common/timed-run.js";
import { runWorkersBench } from "./workers/workers-bench.js";
import { runTokensBench } from "./tokens/tokens-bench.js";
import { ShapingProfiles } from "../src/client/shaping-profile.js";

/** Application message size of every deposit (MLS-message-like, before any sealing). */
const MESSAGE_BYTES = 100;
/** Pre-sealed deposits pushed through handleSealed first, to size the measured pool. */
const CALIBRATION_DEPOSITS = 256;
/** The pool holds this many times what the calibration rate says the row needs. */
const POOL_MARGIN = 1.25;

interface Row {
  label: string;
  result: TimedRunResult;
}

const figures: Figure[] = [];

function percent(ratio: number): string {
  return `${formatNumber(ratio * 100, 0)} %`;
}

function rowCells({ label, result }: Row): string[] {
  return [
    label,
    String(result.concurrency),
    formatNumber(result.ops),
    formatNumber(result.errors),
    formatNumber(result.elapsedMs / 1000, 2),
    formatNumber(result.perSecond),
    formatNumber(result.p50Ms, 2),
    formatNumber(result.p99Ms, 2),
  ];
}

async function newInboxes(count: number, relaySigningKey: Uint8Array): Promise<Inbox[]> {
  const inboxes: Inbox[] = [];
  for (let i = 0; i < count; i++) inboxes.push(await createInbox(BENCH_ORIGIN, relaySigningKey));
  return inboxes;
}

function printEnvironment(): void {
  const env = environment();
  console.log("Shroud relay benchmark");
  console.log(`  date     ${env.date}`);
  console.log(`  node     ${env.node} (${env.platform})`);
  console.log(`  cpus     ${env.cpus} x ${env.cpuModel}`);
  console.log("");
}

function printMemoryHeader(options: BenchOptions): void {
  const rounds =
    options.roundMs === 0
      ? "roundIntervalMs 0 (a round closes after every deposit; development mode)"
      : `roundIntervalMs ${options.roundMs}` +
        (options.roundMs === DEFAULT_RELAY_CONFIG.roundIntervalMs ? " (the default; " : " (") +
        "rounds closed by relay.start()'s timer while deposits arrive, as `shroud serve` does)";
  console.log("Memory backend");
  console.log(`  relay    Relay.open on memoryPorts() + MemoryKeyStore, in-process, ${rounds}`);
  console.log(
    `  load     ${MESSAGE_BYTES} B messages (1 KiB sealed envelopes) over ${options.inboxes}` +
      ` inboxes; ${options.seconds} s per row after ${options.warmupSeconds} s warm-up`,
  );
  console.log(
    "  suite    DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM (@hpke/core on node:crypto" +
      " primitives; the last row: stock @hpke/core on WebCrypto)",
  );
  console.log("");
}

async function runMemoryBench(options: BenchOptions): Promise<void> {
  // The relay and clients seal and open on node:crypto, as they do under `shroud serve`.
  useNodeHpke();
  printMemoryHeader(options);
  const timing = {
    seconds: options.seconds,
    warmupSeconds: options.warmupSeconds,
    concurrency: options.concurrency,
  };
  const message = randomBytes(MESSAGE_BYTES);
  const rows: Row[] = [];

  // 1a. Full path: RelayClient seals, the Hono app routes, the relay opens, queues the deposit
  // for its round and seals an answer, and the client opens that answer.
  const appRelay = await openBenchRelay(options.roundMs);
  const client = await RelayClient.connect(BENCH_ORIGIN, {
    shaping: ShapingProfiles.off,
    fetch: appRelay.fetch,
  });
  const cards = (await newInboxes(options.inboxes, client.descriptor.signingKey)).map(contactCard);
  const viaApp = await timedRun(async (i) => {
    const result = await client.deposit(cards[i % cards.length]!, message);
    if (result.status !== "accepted" || result.duplicate) {
      throw new Error(`deposit ${result.status}`);
    }
  }, timing);
  rows.push({ label: "deposit: RelayClient -> Hono app.fetch -> relay", result: viaApp });
  await appRelay.relay.stop();
  const appCounts = depositCounts(appRelay);

  // 1b. Relay only: relay.handleSealed on bodies RelayClient sealed beforehand. A memory relay
  // refuses replays and gets new keys whenever it is opened, so each body is used once on one
  // relay; a short calibration run sizes the pool to outlast the warm-up and the window.
  const direct = await openBenchRelay(options.roundMs);
  const signingKey = direct.relay.keyRing.stored.signing.publicKey;
  const directInboxes = await newInboxes(options.inboxes, signingKey);
  const capture = (count: number) =>
    captureDeposits(direct, directInboxes, message, count, options.concurrency);
  const handle = (bodies: readonly Uint8Array[]) => (i: number) =>
    direct.relay.handleSealed(bodies[i]!);
  const calibration = await capture(CALIBRATION_DEPOSITS);
  const calibrated = await timedRun(handle(calibration), {
    ...timing,
    seconds: 600,
    warmupSeconds: 0,
    limit: calibration.length,
  });
  const poolSize =
    Math.ceil(POOL_MARGIN * calibrated.perSecond * (options.seconds + options.warmupSeconds)) +
    options.concurrency;
  const sealStarted = performance.now();
  const envelopes = await capture(poolSize);
  const sealSeconds = (performance.now() - sealStarted) / 1000;
  const viaRelay = await timedRun(handle(envelopes), { ...timing, limit: envelopes.length });
  rows.push({ label: "deposit: relay.handleSealed(pre-sealed body)", result: viaRelay });
  await direct.relay.stop();
  const directCounts = depositCounts(direct);

  // 2. Raw HPKE open of the same 1 KiB envelopes (no replay check here, so they may repeat).
  const all = [...calibration, ...envelopes];
  const keyId = requestKeyId(all[0]!);
  const key = direct.relay.keyRing.lookup(keyId, Date.now());
  const stored = direct.relay.keyRing.stored.hpke.find((k) => k.keyId === keyId);
  if (!key || !stored) throw new Error("bench key not found");
  const lookup = (id: number) => (id === keyId ? key : undefined);
  const bareOpen = await bareOpener(stored.privateKey.expose());
  const envelopeAt = (i: number) => all[i % all.length]!;
  const openedLength = (await openRequest(lookup, envelopeAt(0))).plaintext.length;
  if ((await bareOpen(envelopeAt(0))).byteLength !== openedLength) {
    throw new Error("openRequest and bare @hpke/core open disagree");
  }
  const rawOpen = await timedRun((i) => openRequest(lookup, envelopeAt(i)), timing);
  rows.push({ label: "HPKE open: envelope.ts openRequest, 1 KiB", result: rawOpen });
  const bare = await timedRun((i) => bareOpen(envelopeAt(i)), timing);
  rows.push({ label: "HPKE open: stock @hpke/core suite.open, 1 KiB", result: bare });

  console.log(
    textTable(
      ["path", "in flight", "ops", "errors", "s", "ops/s", "p50 ms", "p99 ms"],
      rows.map(rowCells),
      ["left", "right", "right", "right", "right", "right", "right", "right"],
    ),
  );
  console.log("");
  console.log(
    `Client-side sealing alone (RelayClient.deposit captured before sending): ` +
      `${formatNumber(poolSize / sealSeconds)}/s (${formatNumber(poolSize)} in ` +
      `${formatNumber(sealSeconds, 2)} s, ${options.concurrency} in flight).`,
  );
  const directAnswered = calibrated.ops + viaRelay.warmupOps + viaRelay.ops;
  console.log(
    `Checks: app relay accepted ${formatNumber(appCounts.accepted)} deposits, delivered ` +
      `${formatNumber(appCounts.delivered)}; handleSealed relay accepted ` +
      `${formatNumber(directCounts.accepted)} of ${formatNumber(directAnswered)} answered ` +
      `(${CALIBRATION_DEPOSITS} calibration + warm-up + measured), delivered ` +
      `${formatNumber(directCounts.delivered)}.`,
  );
  if (viaRelay.exhausted) {
    console.log(
      `Note: the ${formatNumber(poolSize)} pre-sealed bodies ran out after ` +
        `${formatNumber(viaRelay.elapsedMs / 1000, 2)} s; that row's rate is over that window.`,
    );
  }
  for (const { label, result } of rows) {
    if (result.firstError) console.log(`First error in "${label}": ${result.firstError}`);
  }
  console.log("");

  const ratioDirect = viaRelay.perSecond / rawOpen.perSecond;
  const ratioApp = viaApp.perSecond / rawOpen.perSecond;
  console.log(
    textTable(
      [`ratio (all at ${options.concurrency} in flight)`, "value"],
      [
        ["relay.handleSealed deposits/s / openRequest opens/s", formatNumber(ratioDirect, 3)],
        ["RelayClient->app deposits/s / openRequest opens/s", formatNumber(ratioApp, 3)],
        [
          "openRequest opens/s / stock @hpke/core opens/s",
          formatNumber(rawOpen.perSecond / bare.perSecond, 3),
        ],
      ],
      ["left", "right"],
    ),
  );
  console.log("");
  console.log(
    `Meaning: a deposit costs the relay about ${formatNumber(1 / ratioDirect, 1)}x the time of ` +
      `one HPKE open, so the open is about ${percent(ratioDirect)} of the relay's per-deposit ` +
      `cost and the rest (response sealing, hashing, replay/round-pool bookkeeping, round ` +
      `closes) about ${percent(1 - ratioDirect)}; with the in-process client's sealing and the ` +
      `Hono layer counted too, the open is about ${percent(ratioApp)} of each deposit.`,
  );
}

/** HPKE open of 4 KiB requests on each set of primitives, against a node:crypto floor. */
async function runHpkeOpenBench(options: BenchOptions): Promise<void> {
  const { webCrypto, node, floor } = await measureHpkeOpen({
    seconds: options.seconds,
    warmupSeconds: options.warmupSeconds,
    concurrency: options.concurrency,
  });
  const rows: Row[] = [
    { label: "openRequest, WebCrypto primitives (Workers, browsers)", result: webCrypto },
    { label: "openRequest, node:crypto primitives (Node entry points)", result: node },
    { label: "floor: RFC 9180 open straight on node:crypto", result: floor },
  ];
  console.log("HPKE open of a 4 KiB request (DHKEM(X25519), HKDF-SHA256, AES-128-GCM)");
  console.log(
    textTable(
      ["path", "in flight", "ops", "errors", "s", "ops/s", "p50 ms", "p99 ms"],
      rows.map(rowCells),
      ["left", "right", "right", "right", "right", "right", "right", "right"],
    ),
  );
  const ratio = node.perSecond / floor.perSecond;
  console.log(
    `hpke.open.4k: ${formatNumber(node.perSecond)} opens/s, ${formatNumber(ratio, 2)} of the ` +
      `floor; WebCrypto primitives ${formatNumber(webCrypto.perSecond / floor.perSecond, 2)}.`,
  );
  figures.push({
    name: "hpke.open.4k",
    value: Math.round(node.perSecond),
    unit: "ops/s",
    floor: Math.round(floor.perSecond),
    ratio: Number(ratio.toFixed(3)),
  });
}

function optionsOrExit(): BenchOptions {
  try {
    return parseBenchOptions();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return exit(2);
  }
}

async function run(options: BenchOptions): Promise<void> {
  printEnvironment();
  if (options.memory) {
    await runHpkeOpenBench(options);
    console.log("");
    await runMemoryBench(options);
    console.log("");
  }
  if (options.stores) {
    try {
      await runStoreBench(options);
    } catch (error) {
      console.error(
        `Stores part failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      process.exitCode = 1;
    }
    console.log("");
  }
  if (options.redis) {
    try {
      figures.push(...(await runRedisBench(options)));
    } catch (error) {
      console.error(`Redis part failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  }
  if (options.federation) {
    if (options.redis) console.log("");
    try {
      await runFederationBench(options);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      console.error(`Federation part failed: ${message}`);
      process.exitCode = 1;
    }
  }
  if (options.mls) {
    if (options.memory || options.redis || options.federation) console.log("");
    try {
      figures.push(...(await runMlsBench(options)));
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(`MLS part failed: ${message}`);
      process.exitCode = 1;
    }
  }
  if (options.workers) {
    if (options.memory || options.redis || options.federation || options.mls) console.log("");
    try {
      await runWorkersBench(options);
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(`Workers part failed: ${message}`);
      process.exitCode = 1;
    }
  }
  if (options.tokens) {
    if (options.memory || options.redis || options.federation || options.mls || options.workers) {
      console.log("");
    }
    try {
      figures.push(...(await runTokensBench(options)));
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(`Tokens part failed: ${message}`);
      process.exitCode = 1;
    }
  }
  if (options.cluster) {
    const { memory, redis, federation, mls, workers, tokens } = options;
    if (memory || redis || federation || mls || workers || tokens) {
      console.log("");
    }
    try {
      figures.push(...(await runClusterBench(options)));
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(`Cluster part failed: ${message}`);
      process.exitCode = 1;
    }
  }
}

const options = optionsOrExit();
await run(options);
if (options.json) {
  await writeFile(options.json, JSON.stringify({ figures }, null, 2) + "\n");
  console.log(`figures written to ${options.json}`);
}
