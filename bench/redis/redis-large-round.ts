/**
 * Large round closes on Redis, on their own (not part of `npm run bench`, which closes rounds of
 * 10,000): one round of each given size filled and closed by RoundCloser, with the close time,
 * Redis memory and this process's peak resident set. Sizes and item bytes come from the command
 * line: `node dist/bench-run/bench/redis/redis-large-round.js [--item-bytes N] SIZE...` (default 100000 250000,
 * 1024-byte items). A redis-server of its own, or REDIS_URL.
 */
import { argv, exit } from "node:process";
import { Redis } from "ioredis";
import { Cleanup } from "../common/cleanup.js";
import { redisVersion } from "./redis-info.js";
import { measureLargeRoundClose } from "./redis-round-close.js";
import { benchRedis } from "./redis-server-process.js";
import { formatNumber, textTable } from "../common/text-table.js";

const MB = 1024 * 1024;

function parseArgs(args: string[]): { sizes: number[]; itemBytes: number } {
  let itemBytes = 1024;
  const sizes: number[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = arg === "--item-bytes" ? args[++i] : arg;
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`not a positive integer: ${value}`);
    if (arg === "--item-bytes") itemBytes = n;
    else sizes.push(n);
  }
  return { sizes: sizes.length > 0 ? sizes : [100_000, 250_000], itemBytes };
}

async function main(): Promise<void> {
  const { sizes, itemBytes } = parseArgs(argv.slice(2));
  const cleanup = new Cleanup();
  let admin: Redis | undefined;
  try {
    const redis = await benchRedis(cleanup);
    admin = new Redis(redis.url, { maxRetriesPerRequest: 3 });
    admin.on("error", () => undefined);
    console.log(`Redis ${await redisVersion(admin)} (${redis.source}); items of ${itemBytes} B`);
    const rows: string[][] = [];
    for (const deposits of sizes) {
      const f = await measureLargeRoundClose({ redis, admin, deposits, itemBytes }, cleanup);
      const ok = f.contents.storedItems === deposits && f.contents.pendingEntries === 0;
      rows.push([
        formatNumber(deposits),
        formatNumber(f.inboxes),
        formatNumber(f.fillMs / 1000, 1),
        formatNumber(f.closeMs / 1000, 2),
        formatNumber(deposits / (f.closeMs / 1000)),
        formatNumber(f.redisBytesPending / MB),
        formatNumber(f.redisBytesDelivered / MB),
        formatNumber(f.rssBeforeBytes / MB),
        formatNumber(f.rssPeakBytes / MB),
        ok
          ? "all delivered"
          : `stored ${f.contents.storedItems}, pending ${f.contents.pendingEntries}`,
      ]);
      console.log(`  ${formatNumber(deposits)} entries closed`);
    }
    console.log(
      textTable(
        [
          "entries",
          "inboxes",
          "fill s",
          "close s",
          "entries/s",
          "Redis MB pending",
          "Redis MB after",
          "RSS MB before",
          "RSS MB peak",
          "check",
        ],
        rows,
        ["right", "right", "right", "right", "right", "right", "right", "right", "right", "left"],
      ),
    );
  } finally {
    admin?.disconnect();
    await cleanup.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  exit(1);
});
