/**
 * Helpers of the SQLite process tests: what a relay left in its store file, read with a
 * connection of the test's own while the relay runs or after it died (SQLite's write-ahead log
 * lets a reader in beside the writer). The relays come from testkit/relay-process.ts.
 */
import Database from "better-sqlite3";
import { join } from "node:path";
import { SQLITE_FILE_NAME } from "../../src/adapters/sqlite/sqlite-database.js";

/** What the round pool holds: rounds closed and not wholly released, and the open round. */
export interface PoolState {
  /** Closed round id -> entries it still holds. */
  closed: Map<string, number>;
  /** Entries of the open round. */
  open: number;
  /** The pending-bytes total (0 once nothing is pending). */
  pendingBytes: number;
}

/** Runs `read` on a read-only connection to the store in `dataDir`. */
export function readStore<T>(dataDir: string, read: (db: Database.Database) => T): T {
  const db = new Database(join(dataDir, SQLITE_FILE_NAME), { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** The round pool's state in the store of `dataDir`. */
export function poolState(dataDir: string): PoolState {
  return readStore(dataDir, (db) => {
    const open = db.prepare<[], { open: string }>("SELECT open FROM round_state").get()!.open;
    const closed = new Map<string, number>();
    let inOpen = 0;
    for (const { round, n } of db
      .prepare<[], { round: string; n: number }>(
        "SELECT round, count(*) AS n FROM round_entries GROUP BY round",
      )
      .all()) {
      if (round === open) inOpen = n;
      else closed.set(round, n);
    }
    const pendingBytes = db
      .prepare<[], { value: number }>("SELECT value FROM store_totals WHERE name = 'pending_bytes'")
      .get()!.value;
    return { closed, open: inOpen, pendingBytes };
  });
}
