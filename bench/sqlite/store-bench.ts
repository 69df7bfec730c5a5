/**
 * The stores part of `npm run bench`: the same work on each store a Node relay can run on, in
 * this process, through the ports: 10,000 deposits over 1,000 inboxes (each deposit the two
 * writes a relay makes, `inboxes.admit` then `pool.add`, one after the other), then one
 * RoundCloser.close() of that round. On the in-memory store, the SQLite store (a file in a
 * temporary directory: WAL, an fsync per commit) and Redis (REDIS_URL or a redis-server of its
 * own; skipped with --no-redis). Each figure is the median of three runs, each on fresh state.
 * No HTTP, no sealing: what each store costs a deposit and a close, side by side.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { memoryPorts } from "../../src/adapters/memory/memory-ports.js";
import { deletePrefix } from "../../src/adapters/redis/redis-prefix.js";
import { redisPorts } from "../../src/adapters/redis/redis-ports.js";
import { sqlitePorts } from "../../src/adapters/sqlite/sqlite-ports.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { SecretBytes } from "../../src/protocol/secret-bytes.js";
import { dayOf } from "../../src/relay/ports/clock.js";
import { DEFAULT_RELAY_CONFIG } from "../../src/relay/relay-config.js";
import type { RelayPorts } from "../../src/relay/relay.js";
import { RoundCloser } from "../../src/relay/round-closer.js";
import type { BenchOptions } from "../common/bench-options.js";
import { benchPrefix } from "../common/bench-prefix.js";
import { Cleanup } from "../common/cleanup.js";
import { formatNumber, textTable } from "../common/text-table.js";
import { benchRedis } from "../redis/redis-server-process.js";

const DEPOSITS = 10_000;
const INBOXES = 1_000;
const RUNS = 3;
/** A 1 KiB item: what a deposit of a small message stores (the smallest bucket). */
const ITEM_BYTES = 1024;

/** Fresh ports of one store, and how to let go of them. */
type Opened = { ports: RelayPorts; close(): Promise<void> };

interface StoreRow {
  store: string;
  depositsPerSecond: number;
  closeMs: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

/** Deposits/s of admit + add, and the ms of one close, on fresh ports. */
async function measure(
  open: () => Promise<Opened>,
): Promise<{ perSecond: number; closeMs: number }> {
  const { ports, close } = await open();
  try {
    const day = dayOf(Date.now()) + DEFAULT_RELAY_CONFIG.retentionDays;
    const inboxes = Array.from({ length: INBOXES }, () => randomBytes(32));
    const quota = DEFAULT_RELAY_CONFIG.quota;
    const started = performance.now();
    for (let i = 0; i < DEPOSITS; i++) {
      const entry = {
        inboxId: inboxes[i % INBOXES]!,
        messageId: randomBytes(16),
        item: randomBytes(ITEM_BYTES),
      };
      const admission = await ports.inboxes.admit(entry.inboxId, entry.messageId, day);
      if (admission === "full") throw new Error("store full");
      const added = await ports.pool.add(entry, { stored: admission.stored, ...quota });
      if (added !== "added") throw new Error(`pool.add answered ${added}`);
    }
    const perSecond = DEPOSITS / ((performance.now() - started) / 1000);
    const closer = new RoundCloser(
      ports.pool,
      ports.inboxes,
      ports.clock,
      ports.metrics,
      DEFAULT_RELAY_CONFIG.retentionDays,
    );
    const closing = performance.now();
    await closer.close();
    return { perSecond, closeMs: performance.now() - closing };
  } finally {
    await close();
  }
}

/**
 * @example await runStoreBench(parseBenchOptions());
 */
export async function runStoreBench(options: BenchOptions): Promise<void> {
  const cleanup = new Cleanup();
  try {
    const dir = await mkdtemp(join(tmpdir(), "shroud-bench-sqlite-"));
    cleanup.add({
      name: "temporary directory",
      stop: () => rm(dir, { recursive: true, force: true }),
      now: () => undefined,
    });
    const stores: [string, () => Promise<Opened>][] = [
      ["memory", async () => ({ ports: memoryPorts(), close: async () => {} })],
      [
        "sqlite (WAL, synchronous FULL)",
        async () => {
          const ports = sqlitePorts({ dataDir: await mkdtemp(join(dir, "run-")) });
          return { ports, close: () => ports.close() };
        },
      ],
    ];
    if (options.redis) {
      const redis = await benchRedis(cleanup);
      stores.push([
        `redis (${redis.source})`,
        async () => {
          const prefix = benchPrefix("stores");
          const ports = redisPorts({ url: redis.url, prefix, masterKey: SecretBytes.random(32) });
          return {
            ports,
            async close() {
              await deletePrefix(ports.redis, prefix);
              await ports.close();
            },
          };
        },
      ]);
    }
    const rows: StoreRow[] = [];
    for (const [store, open] of stores) {
      const runs = [];
      for (let run = 0; run < RUNS; run++) runs.push(await measure(open));
      rows.push({
        store,
        depositsPerSecond: median(runs.map((r) => r.perSecond)),
        closeMs: median(runs.map((r) => r.closeMs)),
      });
    }
    console.log(
      `Stores, in process: ${formatNumber(DEPOSITS)} deposits (admit + pool.add, one at a time) ` +
        `over ${formatNumber(INBOXES)} inboxes, then one round close; median of ${RUNS} runs`,
    );
    console.log(
      textTable(
        ["store", "deposits/s", "round close ms"],
        rows.map((r) => [r.store, formatNumber(r.depositsPerSecond), formatNumber(r.closeMs, 1)]),
        ["left", "right", "right"],
      ),
    );
  } finally {
    await cleanup.close();
  }
}
