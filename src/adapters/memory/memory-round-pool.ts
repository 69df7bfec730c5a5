import { fromHex, randomBytes, toHex } from "../../protocol/bytes.js";
import type { InboxUsage, RoundEntry } from "../../relay/ports/inbox-store.js";
import type {
  AddResult,
  EntryKey,
  PageLimit,
  QuotaCheck,
  RoundPool,
} from "../../relay/ports/round-pool.js";
import { secureShuffle } from "../../relay/shuffle.js";

/** A closed round: its items by entry name, and the names in the CSPRNG order it pages in. */
interface ClosedRound {
  items: Map<string, Uint8Array>;
  order: string[];
  /** Names before this index in `order` are released. */
  next: number;
}

/** Caps on what the embedded round pool holds. */
export interface MemoryRoundPoolOptions {
  /**
   * Cap on the bytes of items pending in all rounds together (open and closed but unreleased);
   * an add beyond it answers "quota". Default: no cap.
   */
  maxPendingBytes?: number;
}

/** "<inbox id hex>/<message id hex>": one flat string per entry, the key of its item. */
function entryName(entry: EntryKey): string {
  return `${toHex(entry.inboxId)}/${toHex(entry.messageId)}`;
}

/**
 * The embedded round pool. Each round is a map from entry name (inbox id and message id, in
 * hex) to the entry's item. Insertion order lives only in process memory and only until the
 * round closes: closing shuffles the round's names with the CSPRNG and the round pages in that
 * order, so neither pages nor their order follow arrival; no time is recorded. Pending usage
 * per inbox is kept as running totals so a deposit costs O(1) however full the round is.
 *
 * @example const pool = new MemoryRoundPool({ maxPendingBytes: 256 * 1024 * 1024 });
 */
export class MemoryRoundPool implements RoundPool {
  #open = new Map<string, Uint8Array>();
  readonly #closed = new Map<string, ClosedRound>();
  /** inbox id (hex) -> items and bytes pending for it. */
  readonly #pendingUsage = new Map<string, InboxUsage>();
  #pendingBytes = 0;
  readonly #maxPendingBytes: number;

  constructor(options: MemoryRoundPoolOptions = {}) {
    const max = options.maxPendingBytes ?? Infinity;
    if (!(max === Infinity || (Number.isSafeInteger(max) && max > 0))) {
      throw new RangeError("maxPendingBytes must be a positive integer");
    }
    this.#maxPendingBytes = max;
  }

  #pending(name: string): boolean {
    if (this.#open.has(name)) return true;
    for (const round of this.#closed.values()) if (round.items.has(name)) return true;
    return false;
  }

  async add(entry: RoundEntry, quota: QuotaCheck): Promise<AddResult> {
    const name = entryName(entry);
    if (this.#pending(name)) return "duplicate";
    const inboxKey = name.slice(0, name.indexOf("/"));
    const size = entry.item.length;
    const pending = this.#pendingUsage.get(inboxKey) ?? { items: 0, bytes: 0 };
    const items = quota.stored.items + pending.items + 1;
    const bytes = quota.stored.bytes + pending.bytes + size;
    if (items > quota.maxItems || bytes > quota.maxBytes) return "quota";
    if (this.#pendingBytes + size > this.#maxPendingBytes) return "quota";
    this.#open.set(name, entry.item.slice());
    this.#pendingUsage.set(inboxKey, { items: pending.items + 1, bytes: pending.bytes + size });
    this.#pendingBytes += size;
    return "added";
  }

  async close(): Promise<string | undefined> {
    if (this.#open.size === 0) return undefined;
    const id = toHex(randomBytes(16));
    const items = this.#open;
    this.#open = new Map();
    this.#closed.set(id, { items, order: secureShuffle([...items.keys()]), next: 0 });
    return id;
  }

  async unreleased(): Promise<string[]> {
    return [...this.#closed.keys()];
  }

  async page(roundId: string, limit: PageLimit): Promise<RoundEntry[]> {
    const round = this.#closed.get(roundId);
    if (!round) return [];
    while (round.next < round.order.length && !round.items.has(round.order[round.next]!)) {
      round.next++;
    }
    const page: RoundEntry[] = [];
    let bytes = 0;
    for (let i = round.next; i < round.order.length && page.length < limit.entries; i++) {
      const name = round.order[i]!;
      const item = round.items.get(name);
      if (!item) continue;
      bytes += item.length;
      if (page.length > 0 && bytes > limit.bytes) break;
      const slash = name.indexOf("/");
      page.push({
        inboxId: fromHex(name.slice(0, slash)),
        messageId: fromHex(name.slice(slash + 1)),
        item: item.slice(),
      });
    }
    return page;
  }

  async release(roundId: string, entries: readonly EntryKey[]): Promise<boolean> {
    const round = this.#closed.get(roundId);
    if (!round) return true;
    for (const entry of entries) {
      const name = entryName(entry);
      const item = round.items.get(name);
      if (!item) continue;
      round.items.delete(name);
      this.#pendingBytes -= item.length;
      const inboxKey = name.slice(0, name.indexOf("/"));
      const usage = this.#pendingUsage.get(inboxKey)!;
      if (usage.items === 1) this.#pendingUsage.delete(inboxKey);
      else {
        this.#pendingUsage.set(inboxKey, {
          items: usage.items - 1,
          bytes: usage.bytes - item.length,
        });
      }
    }
    if (round.items.size > 0) return false;
    this.#closed.delete(roundId);
    return true;
  }

  /** Number of entries waiting in the open round (aggregate, for tests and metrics). */
  get pending(): number {
    return this.#open.size;
  }

  /** Bytes of items pending in all rounds (aggregate, for tests and metrics). */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** A deterministic dump of pending state, for tests that assert nothing changed. */
  snapshot(): string {
    const open = [...this.#open.keys()].sort();
    return JSON.stringify({ open, closed: this.#closed.size });
  }
}
