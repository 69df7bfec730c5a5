/**
 * Versioned schemas of SQLite storage, shared by the Durable Objects (one schema per object
 * class) and the embedded SQLite store (one schema for its file). A schema is an ordered list
 * of migrations (version 1 first); on start the storage runs the ones it has not had yet and
 * records the version reached in a one-row `schema_version` table (Workers' SQLite refuses
 * `PRAGMA user_version`, so both use the table).
 *
 * Storage written before versions existed (tables made by `CREATE TABLE IF NOT EXISTS` at every
 * start, no version row) reads as version 0, so version 1 runs on it: that is why every version
 * 1 creates its tables with IF NOT EXISTS, which adopts the existing tables and their rows as
 * they are. Later versions run exactly once, each in its own transaction.
 */
import { ShroudError } from "../../protocol/errors.js";
import type { SqlDriver } from "./sql-driver.js";

/** One step of a schema: `up` turns storage at `version - 1` into `version`. */
export interface Migration {
  readonly version: number;
  /** Runs inside a transaction with the version bump: it either all happens or none of it. */
  readonly up: (sql: SqlDriver) => void;
}

/**
 * Storage holds a schema version newer than this code knows (a deployment was rolled back past
 * a migration). It is refused rather than written to with a layout this code does not know;
 * running the newer code again opens it.
 */
export class SchemaVersionError extends ShroudError {
  /** `storage` names what holds the tables, e.g. "the inbox object's storage". */
  constructor(storage: string, stored: number, known: number, remedy: string) {
    super(
      "schema_version",
      `${storage} is at schema version ${stored}, newer than the ${known} this code knows: ${remedy}`,
    );
  }
}

/** How a schema's errors name it. */
export interface SchemaNames {
  /** The schema's name, e.g. "inbox": "inbox migrations must be numbered 1, 2, ...". */
  schema: string;
  /** What holds it, e.g. "the inbox object's storage". */
  storage: string;
  /** What to do about a newer version, e.g. "deploy the code that wrote it". */
  remedy: string;
}

/**
 * Brings the storage behind `sql` to the last version of `migrations` and returns that version;
 * throws SchemaVersionError, having written nothing, if the storage is at a later version.
 *
 * @example migrateSql(sql, SQLITE_SCHEMA, names); // 1
 */
export function migrateSql(
  sql: SqlDriver,
  migrations: readonly Migration[],
  names: SchemaNames,
): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`${names.schema} migrations must be numbered 1, 2, ...`);
  });
  sql.exec(
    "CREATE TABLE IF NOT EXISTS schema_version (one INTEGER PRIMARY KEY CHECK (one = 1), version INTEGER NOT NULL)",
  );
  const stored =
    sql.all<{ version: number }>("SELECT version FROM schema_version")[0]?.version ?? 0;
  if (stored > migrations.length) {
    throw new SchemaVersionError(names.storage, stored, migrations.length, names.remedy);
  }
  for (const migration of migrations.slice(stored)) {
    sql.transaction(() => {
      migration.up(sql);
      sql.run(
        "INSERT OR REPLACE INTO schema_version (one, version) VALUES (1, ?)",
        migration.version,
      );
    });
  }
  return migrations.length;
}
