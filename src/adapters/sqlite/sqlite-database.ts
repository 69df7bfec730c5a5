import Database from "better-sqlite3";
import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import { ConfigError } from "../../protocol/errors.js";
import { migrateSql } from "../sql/schema-migrations.js";
import type { SqlDriver } from "../sql/sql-driver.js";
import { sqliteDriver } from "./sqlite-driver.js";
import { SQLITE_SCHEMA } from "./sqlite-schema.js";

/** The store's file name in the data directory (beside it SQLite keeps `-wal` and `-shm`). */
export const SQLITE_FILE_NAME = "shroud.db";

/** Milliseconds a writer waits for another connection's transaction (`shroud keys rotate`). */
const BUSY_TIMEOUT_MS = 5000;

/** An open store file: the connection and the shared SQL on it. */
export interface SqliteDatabase {
  readonly path: string;
  readonly sql: SqlDriver;
  /** Checkpoints the write-ahead log into the file and closes the connection. */
  close(): void;
}

/**
 * Opens (creating if need be) the store at `path` and brings its tables to the current schema.
 * The directory is made 0700 and the file 0600, as for keys.json: the file holds the relay's
 * private keys. Durability: the write-ahead log (`journal_mode = WAL`) with `synchronous =
 * FULL`, so every transaction is on disk (fsynced) when it commits and nothing a port call
 * acknowledged is lost to a SIGKILL or to a power cut. `secure_delete` zeroes what is deleted
 * (acknowledged items, released entries), so it cannot be read back from the file's free pages
 * (the log keeps older page images until a checkpoint writes over them).
 *
 * @example const db = openSqliteDatabase(".shroud/shroud.db");
 */
export function openSqliteDatabase(path: string): SqliteDatabase {
  let db: Database.Database;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    chmodSync(dirname(path), 0o700);
    // SQLite gives its -wal and -shm files the database file's mode.
    closeSync(openSync(path, "a", 0o600));
    chmodSync(path, 0o600);
    db = new Database(path);
  } catch {
    throw new ConfigError(`cannot open the SQLite store ${path}`);
  }
  try {
    if (db.pragma("journal_mode = WAL", { simple: true }) !== "wal") {
      throw new ConfigError(`the SQLite store ${path} cannot use a write-ahead log`);
    }
    db.pragma("synchronous = FULL");
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma("secure_delete = ON");
    const sql = sqliteDriver(db);
    migrateSql(sql, SQLITE_SCHEMA, {
      schema: "SQLite store",
      storage: `the SQLite store ${path}`,
      remedy: "run the shroud version that wrote it",
    });
    return { path, sql, close: () => db.close() };
  } catch (error) {
    db.close();
    throw error;
  }
}
