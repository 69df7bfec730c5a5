/**
 * The federation queue's tables (see SqlFederationStore), as the Durable Object federation
 * object and the embedded SQLite store both create them in their version 1.
 *
 * Held slots are keyed by random ids in a table without row ids: nothing on disk keeps the order
 * forwards came in. The `n` columns order the relay's own bookkeeping (recently sent ids, dead
 * letters oldest first), never client traffic. `outbound.enqueued` is Workers' alone (whether
 * the batch's Cloudflare Queues message went out); the SQLite store delivers from this table
 * directly and leaves it 0.
 */
import type { SqlDriver } from "./sql-driver.js";

/**
 * Creates the tables if missing.
 *
 * @example createFederationTables(sql); // inside a migration
 */
export function createFederationTables(sql: SqlDriver): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS held (
      id BLOB PRIMARY KEY, peer TEXT NOT NULL, slot BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS held_by_peer ON held (peer);
    CREATE TABLE IF NOT EXISTS claim_slots (
      claim TEXT NOT NULL, peer TEXT NOT NULL, n INTEGER NOT NULL, slot BLOB NOT NULL,
      PRIMARY KEY (claim, n)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS sent (id TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS outbound (
      id TEXT PRIMARY KEY, peer TEXT NOT NULL, batch BLOB NOT NULL,
      attempts INTEGER NOT NULL, enqueued INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS dead (
      id TEXT PRIMARY KEY, peer TEXT NOT NULL, batch BLOB NOT NULL,
      attempts INTEGER NOT NULL, n INTEGER NOT NULL
    ) WITHOUT ROWID;
  `);
}
