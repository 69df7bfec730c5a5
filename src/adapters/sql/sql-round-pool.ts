import { randomBytes, toHex } from "../../protocol/bytes.js";
import type { RoundEntry } from "../../relay/ports/inbox-store.js";
import type {
  AddResult,
  EntryKey,
  PageLimit,
  QuotaCheck,
  RoundPool,
} from "../../relay/ports/round-pool.js";
import type { SqlDriver } from "./sql-driver.js";

interface EntryRow {
  inbox: Uint8Array;
  message: Uint8Array;
  item: Uint8Array;
}

/** Bytes of the random sort key drawn for each entry. */
const SORT_KEY_BYTES = 8;

/**
 * The round pool on SQLite: a Durable Object's storage (the round object's own) or the embedded
 * SQLite store's file. Entries are keyed by (inbox, message id) in a table without row ids, so
 * nothing on disk keeps the order they arrived in. Each entry carries the id of its round from
 * the start (the open round's id is kept in `round_state`), so closing is one write however
 * large the round, and a random sort key drawn from the CSPRNG at add. A closed round pages by
 * inbox, then by sort key: an inbox's entries come in a random order, never by arrival, and a
 * page reaches few inboxes, so a round costs about one call per inbox it holds, not one per
 * inbox per page (on Workers each is an RPC to the inbox's object).
 * A closed round is every round id in the table but the open one; it goes when its last entry
 * is released. Pending usage per inbox is summed over the key's prefix.
 *
 * The tables are made by createRoundPoolTables (round-pool-tables.ts): the storage must be
 * migrated before the pool is first used. The `*Now` calls are synchronous, so the caller can
 * make each one a transaction of its own (a Durable Object is one by construction).
 *
 * @example const pool = new SqlRoundPool(sql); // inside the round object
 */
export class SqlRoundPool implements RoundPool {
  /** The open round's id, as in `round_state` (which, once created, only this class writes). */
  #openId: string | undefined;

  constructor(private readonly sql: SqlDriver) {}

  get #open(): string {
    return (this.#openId ??= this.sql.all<{ open: string }>(
      "SELECT open FROM round_state",
    )[0]!.open);
  }

  /** Synchronous, so an add is atomic within the caller's transaction. */
  addNow(entry: RoundEntry, quota: QuotaCheck): AddResult {
    const exists = this.sql.all(
      "SELECT 1 FROM round_entries WHERE inbox = ? AND message = ?",
      entry.inboxId,
      entry.messageId,
    ).length;
    if (exists) return "duplicate";
    const pending = this.sql.all<{ n: number; b: number }>(
      "SELECT count(*) AS n, coalesce(sum(length(item)), 0) AS b FROM round_entries WHERE inbox = ?",
      entry.inboxId,
    )[0]!;
    const items = quota.stored.items + pending.n + 1;
    const bytes = quota.stored.bytes + pending.b + entry.item.length;
    if (items > quota.maxItems || bytes > quota.maxBytes) return "quota";
    this.sql.run(
      "INSERT INTO round_entries (inbox, message, item, round, sort) VALUES (?, ?, ?, ?, ?)",
      entry.inboxId,
      entry.messageId,
      entry.item,
      this.#open,
      randomBytes(SORT_KEY_BYTES),
    );
    return "added";
  }

  async add(entry: RoundEntry, quota: QuotaCheck): Promise<AddResult> {
    return this.addNow(entry, quota);
  }

  #holds(round: string): boolean {
    return this.sql.all("SELECT 1 FROM round_entries WHERE round = ? LIMIT 1", round).length > 0;
  }

  closeNow(): string | undefined {
    if (!this.#holds(this.#open)) return undefined;
    const closed = this.#open;
    const next = toHex(randomBytes(16));
    this.sql.run("UPDATE round_state SET open = ?", next);
    this.#openId = next;
    return closed;
  }

  async close(): Promise<string | undefined> {
    return this.closeNow();
  }

  /** Round ids but the open one, each found by one index seek (no scan of the entries). */
  unreleasedNow(): string[] {
    const ids: string[] = [];
    const next = (after: string | null) =>
      (after === null
        ? this.sql.all<{ r: string | null }>("SELECT min(round) AS r FROM round_entries")
        : this.sql.all<{ r: string | null }>(
            "SELECT min(round) AS r FROM round_entries WHERE round > ?",
            after,
          ))[0]!.r;
    for (let round = next(null); round !== null; round = next(round)) {
      if (round !== this.#open) ids.push(round);
    }
    return ids;
  }

  async unreleased(): Promise<string[]> {
    return this.unreleasedNow();
  }

  pageNow(roundId: string, limit: PageLimit): RoundEntry[] {
    if (roundId === this.#open) return [];
    // Sizes first (SQLite reads a blob's length without its content), so no more items are
    // loaded than the page takes.
    let count = 0;
    let bytes = 0;
    for (const { size } of this.sql.all<{ size: number }>(
      "SELECT length(item) AS size FROM round_entries WHERE round = ? ORDER BY inbox, sort LIMIT ?",
      roundId,
      limit.entries,
    )) {
      bytes += size;
      if (count > 0 && bytes > limit.bytes) break;
      count++;
    }
    if (count === 0) return [];
    return this.sql
      .all<EntryRow>(
        "SELECT inbox, message, item FROM round_entries WHERE round = ? ORDER BY inbox, sort LIMIT ?",
        roundId,
        count,
      )
      .map((r) => ({ inboxId: r.inbox, messageId: r.message, item: r.item }));
  }

  async page(roundId: string, limit: PageLimit): Promise<RoundEntry[]> {
    return this.pageNow(roundId, limit);
  }

  /**
   * Releases `entries` of closed round `roundId`; true once the round holds nothing. `onRelease`
   * hears the size of each entry actually released (for a backend that keeps a pending total).
   */
  releaseNow(
    roundId: string,
    entries: readonly EntryKey[],
    onRelease?: (itemBytes: number) => void,
  ): boolean {
    if (roundId === this.#open) return false;
    for (const entry of entries) {
      const args = [entry.inboxId, entry.messageId, roundId] as const;
      if (onRelease) {
        const [row] = this.sql.all<{ size: number }>(
          "SELECT length(item) AS size FROM round_entries WHERE inbox = ? AND message = ? AND round = ?",
          ...args,
        );
        if (row) onRelease(row.size);
      }
      this.sql.run(
        "DELETE FROM round_entries WHERE inbox = ? AND message = ? AND round = ?",
        ...args,
      );
    }
    return !this.#holds(roundId);
  }

  async release(roundId: string, entries: readonly EntryKey[]): Promise<boolean> {
    return this.releaseNow(roundId, entries);
  }

  /** Entries in the open round (aggregate, for tests and metrics). */
  pending(): number {
    return this.sql.all<{ n: number }>(
      "SELECT count(*) AS n FROM round_entries WHERE round = ?",
      this.#open,
    )[0]!.n;
  }
}
