/**
 * Memory the embedded inbox store keeps per inbox and per stored item: N deposits to new
 * inboxes (admit, then the item appended as a round close would), then N more items to those
 * inboxes, with the heap and external (item) memory read after a full GC at each step.
 *
 * Run as: node --expose-gc dist/bench-run/bench/memory/embedded-memory.js [--inboxes N]
 */
import { argv, memoryUsage } from "node:process";
import { MemoryInboxStore } from "../../src/adapters/memory/memory-inbox-store.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import type { RoundEntry } from "../../src/relay/ports/inbox-store.js";

const DAY = 20_000;
const ITEM_BYTES = 1024;
const BATCH = 1000;

function used(): { heap: number; external: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with node --expose-gc");
  gc();
  gc();
  // `external` includes the ArrayBuffers behind the items.
  const { heapUsed, external } = memoryUsage();
  return { heap: heapUsed, external };
}

async function main(): Promise<void> {
  const at = argv.indexOf("--inboxes");
  const count = at > 0 ? Number(argv[at + 1]) : 100_000;
  const store = new MemoryInboxStore({ maxInboxes: count, maxBytes: 4 * count * ITEM_BYTES });
  const ids = Array.from({ length: count }, () => randomBytes(32));
  const round = async (from: number) => {
    const entries: RoundEntry[] = [];
    for (let i = from; i < Math.min(count, from + BATCH); i++) {
      entries.push({ inboxId: ids[i]!, messageId: randomBytes(16), item: randomBytes(ITEM_BYTES) });
    }
    await store.appendRound(entries, DAY);
  };
  const start = used();
  for (let i = 0; i < count; i++) await store.admit(ids[i]!, randomBytes(16), DAY);
  for (let from = 0; from < count; from += BATCH) await round(from);
  const firstItems = used();
  for (let from = 0; from < count; from += BATCH) await round(from);
  const secondItems = used();
  const per = (a: { heap: number; external: number }, b: typeof a) =>
    `${((b.heap - a.heap) / count).toFixed(0)} B heap + ${((b.external - a.external) / count).toFixed(0)} B external`;
  console.log(`embedded inbox store, ${count} inboxes, ${ITEM_BYTES} B items`);
  console.log(`  a new inbox with its first item: ${per(start, firstItems)}`);
  console.log(`  each further item:               ${per(firstItems, secondItems)}`);
  console.log(`  held: ${JSON.stringify(store.size)}`);
}

await main();
