/**
 * The round pool's tables (see SqlRoundPool), as the Durable Object round object and the
 * embedded SQLite store both create them in their version 1.
 *
 * `round_entries` is keyed by (inbox, message id) in a table without row ids, so nothing on disk
 * keeps the order entries arrived in; `sort` is a random key drawn at add. `round_state` holds
 * the open round's random id.
 */
import { randomBytes, toHex } from "../../protocol/bytes.js";
import type { SqlDriver } from "./sql-driver.js";

/**
 * Creates the round pool's tables if missing and draws the open round's id if there is none.
 *
 * @example createRoundPoolTables(sql); // inside a migration
 */
export function createRoundPoolTables(sql: SqlDriver): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS round_entries (
      inbox BLOB NOT NULL,
      message BLOB NOT NULL,
      item BLOB NOT NULL,
      round TEXT NOT NULL,
      sort BLOB NOT NULL,
      PRIMARY KEY (inbox, message)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS round_entries_by_inbox ON round_entries (round, inbox, sort);
    CREATE TABLE IF NOT EXISTS round_state (
      one INTEGER PRIMARY KEY CHECK (one = 1),
      open TEXT NOT NULL
    );
  `);
  sql.run("INSERT OR IGNORE INTO round_state (one, open) VALUES (1, ?)", toHex(randomBytes(16)));
}
