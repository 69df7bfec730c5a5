import { randomBytes, toHex } from "../../protocol/bytes.js";
import type { RoundEntry } from "../../relay/ports/inbox-store.js";
import type {
  AddResult,
  ClosedRound,
  QuotaCheck,
  RoundPool,
} from "../../relay/ports/round-pool.js";

/**
 * The embedded round pool. The open round is a map keyed by (inbox, message id). Its insertion
 * order lives only in process memory and only until the closer shuffles the round; no time is
 * recorded.
 *
 * @example const pool = new MemoryRoundPool();
 */
export class MemoryRoundPool implements RoundPool {
  #open = new Map<string, RoundEntry>();
  readonly #closed = new Map<string, RoundEntry[]>();

  async add(entry: RoundEntry, quota: QuotaCheck): Promise<AddResult> {
    const inboxKey = toHex(entry.inboxId);
    const key = `${inboxKey}/${toHex(entry.messageId)}`;
    if (this.#open.has(key) || this.#inClosedRound(key)) return "duplicate";
    let items = quota.stored.items + 1;
    let bytes = quota.stored.bytes + entry.item.length;
    for (const pending of this.#pendingFor(inboxKey)) {
      items += 1;
      bytes += pending.item.length;
    }
    if (items > quota.maxItems || bytes > quota.maxBytes) return "quota";
    this.#open.set(key, {
      inboxId: entry.inboxId.slice(),
      messageId: entry.messageId.slice(),
      item: entry.item.slice(),
    });
    return "added";
  }

  #inClosedRound(key: string): boolean {
    for (const entries of this.#closed.values()) {
      if (entries.some((e) => `${toHex(e.inboxId)}/${toHex(e.messageId)}` === key)) return true;
    }
    return false;
  }

  *#pendingFor(inboxKey: string): Iterable<RoundEntry> {
    for (const entries of [
      this.#open.values(),
      ...[...this.#closed.values()].map((e) => e.values()),
    ]) {
      for (const e of entries) if (toHex(e.inboxId) === inboxKey) yield e;
    }
  }

  async close(): Promise<ClosedRound | undefined> {
    if (this.#open.size === 0) return undefined;
    const id = toHex(randomBytes(16));
    const entries = [...this.#open.values()];
    this.#open = new Map();
    this.#closed.set(id, entries);
    return { id, entries };
  }

  async unreleased(): Promise<ClosedRound[]> {
    return [...this.#closed.entries()].map(([id, entries]) => ({ id, entries }));
  }

  async release(roundId: string): Promise<void> {
    this.#closed.delete(roundId);
  }

  /** Number of entries waiting in the open round (aggregate, for tests and metrics). */
  get pending(): number {
    return this.#open.size;
  }

  /** A deterministic dump of pending state, for tests that assert nothing changed. */
  snapshot(): string {
    const open = [...this.#open.keys()].sort();
    return JSON.stringify({ open, closed: this.#closed.size });
  }
}
