import type { RoundEntry } from "../../relay/ports/inbox-store.js";
import type {
  AddResult,
  EntryKey,
  PageLimit,
  QuotaCheck,
  RoundPool,
} from "../../relay/ports/round-pool.js";
import type { SqlDriver } from "../sql/sql-driver.js";
import { SqlRoundPool } from "../sql/sql-round-pool.js";
import { StoreTotals } from "./store-totals.js";

export interface SqliteRoundPoolOptions {
  /**
   * Cap on the bytes of items pending in all rounds together (open and closed but unreleased);
   * an add beyond it answers "quota". Default: no cap.
   */
  maxPendingBytes?: number;
}

/** Thrown inside an add's transaction to undo it once the pending cap turns out to be passed. */
class OverPendingCap extends Error {}

/**
 * The round pool in the SQLite file: the Durable Objects' pool (SqlRoundPool, same tables), each
 * call one transaction, plus the embedded store's cap on pending bytes, kept as a running total
 * in `store_totals`. Entries carry a random sort key and no time, as on Workers.
 *
 * @example const pool = new SqliteRoundPool(db.sql, { maxPendingBytes: 256 * 1024 * 1024 });
 */
export class SqliteRoundPool implements RoundPool {
  readonly #pool: SqlRoundPool;
  readonly #totals: StoreTotals;
  readonly #maxPendingBytes: number;

  constructor(
    private readonly sql: SqlDriver,
    options: SqliteRoundPoolOptions = {},
  ) {
    const max = options.maxPendingBytes ?? Infinity;
    if (!(max === Infinity || (Number.isSafeInteger(max) && max > 0))) {
      throw new RangeError("maxPendingBytes must be a positive integer");
    }
    this.#maxPendingBytes = max;
    this.#pool = new SqlRoundPool(sql);
    this.#totals = new StoreTotals(sql);
  }

  async add(entry: RoundEntry, quota: QuotaCheck): Promise<AddResult> {
    try {
      return this.sql.transaction(() => {
        const result = this.#pool.addNow(entry, quota);
        if (result !== "added") return result;
        const pending = this.#totals.get("pending_bytes") + entry.item.length;
        if (pending > this.#maxPendingBytes) throw new OverPendingCap();
        this.#totals.add("pending_bytes", entry.item.length);
        return result;
      });
    } catch (error) {
      if (error instanceof OverPendingCap) return "quota";
      throw error;
    }
  }

  async close(): Promise<string | undefined> {
    return this.sql.transaction(() => this.#pool.closeNow());
  }

  async unreleased(): Promise<string[]> {
    return this.sql.transaction(() => this.#pool.unreleasedNow());
  }

  async page(roundId: string, limit: PageLimit): Promise<RoundEntry[]> {
    return this.sql.transaction(() => this.#pool.pageNow(roundId, limit));
  }

  async release(roundId: string, entries: readonly EntryKey[]): Promise<boolean> {
    return this.sql.transaction(() => {
      let released = 0;
      const empty = this.#pool.releaseNow(roundId, entries, (bytes) => (released += bytes));
      this.#totals.add("pending_bytes", -released);
      return empty;
    });
  }

  /** Number of entries waiting in the open round (aggregate, for tests and metrics). */
  get pending(): number {
    return this.#pool.pending();
  }

  /** Bytes of items pending in all rounds (aggregate, for tests and metrics). */
  get pendingBytes(): number {
    return this.#totals.get("pending_bytes");
  }
}
