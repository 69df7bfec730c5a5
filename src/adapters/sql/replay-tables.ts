/**
 * The replay records' table, as a Durable Object replay shard and the embedded SQLite store both
 * create it in their version 1: records (request encs, federation batch ids) kept whole per tag
 * until the tag is forgotten. Records are random to an observer, so a table without row ids
 * keeps them in key order and nothing on disk shows the order they came in.
 */
import type { SqlDriver } from "./sql-driver.js";

/**
 * Creates the tables if missing.
 *
 * @example createReplayTables(sql); // inside a migration
 */
export function createReplayTables(sql: SqlDriver): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS records (
      tag TEXT NOT NULL,
      record BLOB NOT NULL,
      PRIMARY KEY (tag, record)
    ) WITHOUT ROWID;
  `);
}
