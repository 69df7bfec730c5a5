import { CapacityError } from "../../relay/errors.js";
import type { ReplaySet } from "../../relay/ports/replay-set.js";
import type { SqlDriver } from "../sql/sql-driver.js";
import { DEFAULT_MAX_REPLAY_RECORDS } from "../memory/memory-replay-set.js";
import { StoreTotals } from "./store-totals.js";

/**
 * The replay set in the SQLite file (`records`, the Durable Object replay shards' table): every
 * record whole, per tag, until the tag is forgotten. Durable, so the relay keeps its HPKE keys
 * across restarts: a request opened before a restart is still refused as a replay after it.
 *
 * Bounded as the embedded store is: once `maxRecords` are held, `add` of a new record throws
 * CapacityError (HTTP 503) until a tag is forgotten, rather than forget records early.
 *
 * @example const replay = new SqliteReplaySet(db.sql, { maxRecords: 100_000 });
 */
export class SqliteReplaySet implements ReplaySet {
  readonly durable = true;
  readonly #maxRecords: number;
  readonly #totals: StoreTotals;

  constructor(
    private readonly sql: SqlDriver,
    options: { maxRecords?: number } = {},
  ) {
    const max = options.maxRecords ?? DEFAULT_MAX_REPLAY_RECORDS;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError("maxRecords must be >= 1");
    this.#maxRecords = max;
    this.#totals = new StoreTotals(sql);
  }

  async has(keyTag: string, value: Uint8Array): Promise<boolean> {
    return (
      this.sql.all("SELECT 1 FROM records WHERE tag = ? AND record = ?", keyTag, value).length > 0
    );
  }

  async add(keyTag: string, value: Uint8Array): Promise<boolean> {
    return this.sql.transaction(() => {
      if (
        this.sql.all("SELECT 1 FROM records WHERE tag = ? AND record = ?", keyTag, value).length
      ) {
        return false;
      }
      if (this.#totals.get("replay_records") >= this.#maxRecords) throw new CapacityError();
      this.sql.run("INSERT INTO records (tag, record) VALUES (?, ?)", keyTag, value);
      this.#totals.add("replay_records", 1);
      return true;
    });
  }

  async forget(keyTag: string): Promise<void> {
    this.sql.transaction(() => {
      this.#totals.add(
        "replay_records",
        -this.sql.run("DELETE FROM records WHERE tag = ?", keyTag),
      );
    });
  }

  /** Number of remembered records, for tests. */
  size(): number {
    return this.#totals.get("replay_records");
  }
}
