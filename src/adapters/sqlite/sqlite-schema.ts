/**
 * The tables of the embedded SQLite store's file, oldest version first (see
 * src/adapters/sql/schema-migrations.ts). The round pool's, the replay records', the
 * federation queue's and the metrics' tables are the Durable Objects' own (src/adapters/sql),
 * made by the same functions; the inboxes, the totals and the key ring have tables of their own here:
 *
 * - A Durable Object inbox is one object per inbox with single-row `meta`, so its tables have no
 *   inbox column; in one file every inbox shares `inboxes`, `inbox_items` and
 *   `inbox_message_ids`, keyed by inbox id, and Workers' expiry index (`notes`, needed because
 *   objects cannot be listed) is an index on the expiry day here.
 * - The key ring object stores the ring sealed under SHROUD_MASTER_KEY (`ring.sealed`); the
 *   SQLite store keeps it as keys.json does, as JSON, in a file only its owner may read.
 * - `store_totals` holds the running totals the embedded caps are checked against (inboxes,
 *   stored and pending item bytes, replay records), which Workers does not cap.
 *
 * Append a migration to change them; never edit one that has shipped.
 */
import { createFederationTables } from "../sql/federation-tables.js";
import { createMetricsTables } from "../sql/sql-metrics.js";
import { createReplayTables } from "../sql/replay-tables.js";
import { createRoundPoolTables } from "../sql/round-pool-tables.js";
import type { Migration } from "../sql/schema-migrations.js";

export const SQLITE_SCHEMA: readonly Migration[] = [
  {
    version: 1,
    up(sql) {
      sql.exec(`
        CREATE TABLE IF NOT EXISTS inboxes (
          id BLOB PRIMARY KEY,
          expires_day INTEGER NOT NULL,
          next_seq INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS inboxes_by_day ON inboxes (expires_day);
        CREATE TABLE IF NOT EXISTS inbox_items (
          inbox BLOB NOT NULL,
          seq INTEGER NOT NULL,
          item BLOB NOT NULL,
          expires_day INTEGER NOT NULL,
          PRIMARY KEY (inbox, seq)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS inbox_items_by_day ON inbox_items (expires_day);
        CREATE TABLE IF NOT EXISTS inbox_message_ids (
          inbox BLOB NOT NULL,
          id BLOB NOT NULL,
          expires_day INTEGER NOT NULL,
          PRIMARY KEY (inbox, id)
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS inbox_message_ids_by_day ON inbox_message_ids (expires_day);
        CREATE TABLE IF NOT EXISTS store_totals (
          name TEXT PRIMARY KEY,
          value INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT OR IGNORE INTO store_totals (name, value) VALUES
          ('inboxes', 0), ('item_bytes', 0), ('pending_bytes', 0), ('replay_records', 0);
        CREATE TABLE IF NOT EXISTS key_ring (
          one INTEGER PRIMARY KEY CHECK (one = 1),
          ring TEXT NOT NULL
        );
      `);
      createRoundPoolTables(sql);
      createReplayTables(sql);
      createFederationTables(sql);
      createMetricsTables(sql);
    },
  },
  {
    // Version 2: which process closes rounds when several serve one file (serve --workers).
    version: 2,
    up(sql) {
      sql.exec(`
        CREATE TABLE IF NOT EXISTS leases (
          name TEXT PRIMARY KEY,
          holder TEXT NOT NULL,
          expires_at INTEGER NOT NULL
        ) WITHOUT ROWID;
      `);
    },
  },
];
