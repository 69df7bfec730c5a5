import { randomBytes, toHex } from "../../protocol/bytes.js";
import type { InboxUsage, RoundEntry } from "../../relay/ports/inbox-store.js";
import type {
  AddResult,
  ClosedRound,
  QuotaCheck,
  RoundPool,
} from "../../relay/ports/round-pool.js";

interface Round {
  entries: Map<string, RoundEntry>;
}

/**
 * The embedded round pool. The open round is a map keyed by (inbox, message id). Its insertion
 * order lives only in process memory and only until the closer shuffles the round; no time is
 * recorded. Pending usage per inbox is kept as running totals so a deposit costs O(1) however
 * full the round is.
 *
 * @example const pool = new MemoryRoundPool();
 */
export class MemoryRoundPool implements RoundPool {
  #open: Round = { entries: new Map() };
  readonly #closed = new Map<string, Round>();
  /** (inbox, message id) keys pending in the open or a closed-but-unreleased round. */
  readonly #pendingKeys = new Set<string>();
  /** inbox id (hex) -> items and bytes pending for it. */
  readonly #pendingUsage = new Map<string, InboxUsage>();

  async add(entry: RoundEntry, quota: QuotaCheck): Promise<AddResult> {
    const inboxKey = toHex(entry.inboxId);
    const key = `${inboxKey}/${toHex(entry.messageId)}`;
    if (this.#pendingKeys.has(key)) return "duplicate";
    const pending = this.#pendingUsage.get(inboxKey) ?? { items: 0, bytes: 0 };
    const items = quota.stored.items + pending.items + 1;
    const bytes = quota.stored.bytes + pending.bytes + entry.item.length;
    if (items > quota.maxItems || bytes > quota.maxBytes) return "quota";
    this.#open.entries.set(key, {
      inboxId: entry.inboxId.slice(),
      messageId: entry.messageId.slice(),
      item: entry.item.slice(),
    });
    this.#pendingKeys.add(key);
    this.#pendingUsage.set(inboxKey, {
      items: pending.items + 1,
      bytes: pending.bytes + entry.item.length,
    });
    return "added";
  }

  async close(): Promise<ClosedRound | undefined> {
    if (this.#open.entries.size === 0) return undefined;
    const id = toHex(randomBytes(16));
    const round = this.#open;
    this.#open = { entries: new Map() };
    this.#closed.set(id, round);
    return { id, entries: [...round.entries.values()] };
  }

  async unreleased(): Promise<ClosedRound[]> {
    return [...this.#closed.entries()].map(([id, round]) => ({
      id,
      entries: [...round.entries.values()],
    }));
  }

  async release(roundId: string): Promise<void> {
    const round = this.#closed.get(roundId);
    if (!round) return;
    this.#closed.delete(roundId);
    for (const [key, entry] of round.entries) {
      this.#pendingKeys.delete(key);
      const inboxKey = key.slice(0, key.indexOf("/"));
      const usage = this.#pendingUsage.get(inboxKey)!;
      if (usage.items === 1) this.#pendingUsage.delete(inboxKey);
      else {
        this.#pendingUsage.set(inboxKey, {
          items: usage.items - 1,
          bytes: usage.bytes - entry.item.length,
        });
      }
    }
  }

  /** Number of entries waiting in the open round (aggregate, for tests and metrics). */
  get pending(): number {
    return this.#open.entries.size;
  }

  /** A deterministic dump of pending state, for tests that assert nothing changed. */
  snapshot(): string {
    const open = [...this.#open.entries.keys()].sort();
    return JSON.stringify({ open, closed: this.#closed.size });
  }
}
