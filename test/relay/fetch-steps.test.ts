/**
 * A fetch reads from the store what its answer can hold, not the most items a fetch may return:
 * reading an inbox page by page hands over each stored item about once, whatever its size.
 */
import { describe, expect, it } from "vitest";
import { MemoryInboxStore } from "../../src/adapters/memory/memory-inbox-store.js";
import { MemoryReplaySet } from "../../src/adapters/memory/memory-replay-set.js";
import { MemoryRoundPool } from "../../src/adapters/memory/memory-round-pool.js";
import { randomBytes } from "../../src/protocol/bytes.js";
import { inboxIdOf, readIdFor, writeTokenHash } from "../../src/protocol/inbox-id.js";
import { RequestKind } from "../../src/protocol/relay-request.js";
import { RelayStatus } from "../../src/protocol/relay-status.js";
import type { FetchedItem } from "../../src/protocol/relay-response.js";
import { dayOf, systemClock } from "../../src/relay/ports/clock.js";
import type { InboxStore } from "../../src/relay/ports/inbox-store.js";
import { relayConfig } from "../../src/relay/relay-config.js";
import { RelayService } from "../../src/relay/relay-service.js";
import { StepwiseDepositIntake } from "../../src/relay/stepwise-deposit-intake.js";

const config = relayConfig({ origin: "https://relay.example" });
/** Plaintext a 16 KiB fetch answer carries, as the client sizes it. */
const CAPACITY = 16 * 1024 - 100;

/** An inbox holding `payloads`, behind a service whose store counts the items it hands over. */
async function inboxHolding(payloads: Uint8Array[]) {
  const store = new MemoryInboxStore();
  let handed = 0;
  const counting: InboxStore = {
    admit: (...args) => store.admit(...args),
    usage: (...args) => store.usage(...args),
    appendRound: (...args) => store.appendRound(...args),
    ack: (...args) => store.ack(...args),
    expire: (...args) => store.expire(...args),
    async fetch(...args) {
      const found = await store.fetch(...args);
      handed += found?.items.length ?? 0;
      return found;
    },
  };
  const readSecret = randomBytes(32);
  const tokenHash = await writeTokenHash(randomBytes(32));
  const inboxId = await inboxIdOf(await readIdFor(readSecret), tokenHash);
  const day = dayOf(systemClock.now()) + 7;
  await store.admit(inboxId, randomBytes(16), day);
  const entries = payloads.map((p) => ({
    inboxId,
    messageId: randomBytes(16),
    item: config.padding.pad(p),
  }));
  await store.appendRound(entries, day);
  const deposits = new StepwiseDepositIntake({
    inboxes: counting,
    pool: new MemoryRoundPool(),
    replay: new MemoryReplaySet(),
  });
  const service = new RelayService(config, counting, deposits, systemClock);
  /** Every item, page after page as a reader would, and the pages it took. */
  async function readAll(maxItems = 256): Promise<{ items: FetchedItem[]; pages: number }> {
    const items: FetchedItem[] = [];
    let afterSeq = 0;
    for (let pages = 1; ; pages++) {
      const answer = await service.handle(
        {
          kind: RequestKind.fetch,
          responseSize: 16 * 1024,
          readSecret,
          writeTokenHash: tokenHash,
          afterSeq,
          maxItems,
        },
        CAPACITY,
      );
      if (answer.status !== RelayStatus.ok || answer.kind !== RequestKind.fetch)
        throw new Error("not ok");
      items.push(...answer.items);
      afterSeq = answer.items.at(-1)?.seq ?? afterSeq;
      if (!answer.more) return { items, pages };
    }
  }
  return { readAll, handed: () => handed };
}

const sized = (n: number, bytes: number) => Array.from({ length: n }, () => randomBytes(bytes));

describe("fetch reads in steps", () => {
  it("hands over each item about once when payloads fill their buckets", async () => {
    // Just under the 1 KiB bucket, as the SDK pads them: 16 such items fill an answer.
    const { readAll, handed } = await inboxHolding(sized(100, 1000));
    const { items, pages } = await readAll();
    expect(items).toHaveLength(100);
    expect(items.map((i) => i.seq)).toEqual(items.map((_, i) => i + 1));
    // At most one item read past each answer (and one more step); reading all 256 a fetch may
    // return handed over 100 + 84 + 68 + ... items.
    expect(handed()).toBeLessThanOrEqual(100 + 2 * pages);
  });

  it("fills an answer with small payloads in a few steps", async () => {
    const { readAll, handed } = await inboxHolding(sized(300, 20));
    const { items, pages } = await readAll();
    expect(items).toHaveLength(300);
    expect(pages).toBe(1 + Math.floor(300 / 256));
    expect(handed()).toBeLessThanOrEqual(300 + 2 * pages);
  });

  it("stops at the items the reader asked for, and says there are more", async () => {
    const { readAll } = await inboxHolding(sized(30, 20));
    const { items, pages } = await readAll(25);
    expect(items).toHaveLength(30);
    expect(pages).toBe(2);
  });

  it("keeps payloads of mixed sizes in order", async () => {
    const payloads = Array.from({ length: 80 }, (_, i) => randomBytes(i % 3 === 0 ? 3000 : 40));
    const { readAll } = await inboxHolding(payloads);
    const { items } = await readAll();
    expect(items.map((i) => Buffer.from(i.payload).toString("hex"))).toEqual(
      payloads.map((p) => Buffer.from(p).toString("hex")),
    );
  });
});
