import { randomBytes, toHex } from "../../protocol/bytes.js";
import type { RoundEntry } from "../../relay/ports/inbox-store.js";
import type {
  AddResult,
  ClosedRound,
  QuotaCheck,
  RoundPool,
} from "../../relay/ports/round-pool.js";
import { bytesOf } from "./sql-bytes.js";

interface EntryRow extends Record<string, SqlStorageValue> {
  inbox: ArrayBuffer;
  message: ArrayBuffer;
  item: ArrayBuffer;
}

/**
 * The round pool on a Durable Object's SQLite storage (the round object's own). Entries are
 * keyed by (inbox, message id) in a table without row ids, so nothing on disk keeps the order
 * they arrived in; `round` is '' while the entry is in the open round, then the closed round's
 * id until it is released. Pending usage per inbox is summed over the key's prefix.
 *
 * @example const pool = new SqlRoundPool(ctx.storage.sql); // inside the round object
 */
export class SqlRoundPool implements RoundPool {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`
      CREATE TABLE IF NOT EXISTS entries (
        inbox BLOB NOT NULL,
        message BLOB NOT NULL,
        item BLOB NOT NULL,
        round TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (inbox, message)
      ) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS entries_by_round ON entries (round);
    `);
  }

  /** Synchronous, so an add is atomic within the object. */
  addNow(entry: RoundEntry, quota: QuotaCheck): AddResult {
    const exists = this.sql
      .exec("SELECT 1 FROM entries WHERE inbox = ? AND message = ?", entry.inboxId, entry.messageId)
      .toArray().length;
    if (exists) return "duplicate";
    const pending = this.sql
      .exec<{ n: number; b: number }>(
        "SELECT count(*) AS n, coalesce(sum(length(item)), 0) AS b FROM entries WHERE inbox = ?",
        entry.inboxId,
      )
      .one();
    const items = quota.stored.items + pending.n + 1;
    const bytes = quota.stored.bytes + pending.b + entry.item.length;
    if (items > quota.maxItems || bytes > quota.maxBytes) return "quota";
    this.sql.exec(
      "INSERT INTO entries (inbox, message, item) VALUES (?, ?, ?)",
      entry.inboxId,
      entry.messageId,
      entry.item,
    );
    return "added";
  }

  async add(entry: RoundEntry, quota: QuotaCheck): Promise<AddResult> {
    return this.addNow(entry, quota);
  }

  #entries(round: string): RoundEntry[] {
    return this.sql
      .exec<EntryRow>("SELECT inbox, message, item FROM entries WHERE round = ?", round)
      .toArray()
      .map((r) => ({
        inboxId: bytesOf(r.inbox),
        messageId: bytesOf(r.message),
        item: bytesOf(r.item),
      }));
  }

  async close(): Promise<ClosedRound | undefined> {
    const id = toHex(randomBytes(16));
    const moved = this.sql.exec("UPDATE entries SET round = ? WHERE round = ''", id).rowsWritten;
    if (moved === 0) return undefined;
    return { id, entries: this.#entries(id) };
  }

  async unreleased(): Promise<ClosedRound[]> {
    return this.sql
      .exec<{ round: string }>("SELECT DISTINCT round FROM entries WHERE round != ''")
      .toArray()
      .map(({ round }) => ({ id: round, entries: this.#entries(round) }));
  }

  async release(roundId: string): Promise<void> {
    this.sql.exec("DELETE FROM entries WHERE round = ?", roundId);
  }

  /** Entries in the open round (aggregate, for tests and metrics). */
  pending(): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM entries WHERE round = ''").one()
      .n;
  }
}
