/**
 * Schema versions of the Durable Objects' SQLite storage. Each object class declares its tables
 * as an ordered list of migrations (version 1 first); on start the object runs the ones its
 * storage has not had yet and records the version reached in a one-row `schema_version` table.
 * Workers' SQLite refuses `PRAGMA user_version` and reserves `_cf_*` names, hence the table.
 *
 * Storage written before versions existed (tables made by `CREATE TABLE IF NOT EXISTS` at every
 * start, no version row) reads as version 0, so version 1 runs on it: that is why every version
 * 1 creates its tables with IF NOT EXISTS, which adopts the existing tables and their rows as
 * they are. Later versions run exactly once, each in its own transaction.
 */
import { ShroudError } from "../../../protocol/errors.js";

/** One step of an object's schema: `up` turns storage at `version - 1` into `version`. */
export interface Migration {
  readonly version: number;
  /** Runs inside a transaction with the version bump: it either all happens or none of it. */
  readonly up: (sql: SqlStorage) => void;
}

/**
 * The storage of an object holds a schema version newer than this code knows (a deployment was
 * rolled back past a migration). The object refuses to start rather than write to tables whose
 * layout it does not know; deploying the newer code again opens it.
 */
export class SchemaVersionError extends ShroudError {
  constructor(object: string, stored: number, known: number) {
    super(
      "schema_version",
      `the ${object} object's storage is at schema version ${stored}, newer than the ${known} ` +
        "this code knows: deploy the code that wrote it",
    );
  }
}

/**
 * Brings `storage` to the last version of `migrations` and returns that version; throws
 * SchemaVersionError, having written nothing, if the storage is at a later version.
 *
 * @example migrateSchema(ctx.storage, "inbox", INBOX_SCHEMA); // 1
 */
export function migrateSchema(
  storage: DurableObjectStorage,
  object: string,
  migrations: readonly Migration[],
): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${object} migrations must be numbered 1, 2, ...`);
  });
  const sql = storage.sql;
  sql.exec(
    "CREATE TABLE IF NOT EXISTS schema_version (one INTEGER PRIMARY KEY CHECK (one = 1), version INTEGER NOT NULL)",
  );
  const stored =
    sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0]?.version ?? 0;
  if (stored > migrations.length) {
    throw new SchemaVersionError(object, stored, migrations.length);
  }
  for (const migration of migrations.slice(stored)) {
    storage.transactionSync(() => {
      migration.up(sql);
      sql.exec(
        "INSERT OR REPLACE INTO schema_version (one, version) VALUES (1, ?)",
        migration.version,
      );
    });
  }
  return migrations.length;
}

/**
 * Migrates an object's storage before it takes any request: called from the constructor, it
 * holds every event back until the schema is current. If that fails (SchemaVersionError, or a
 * migration that throws and rolls back) the runtime logs the error and resets the object, every
 * caller waiting on it fails with that error, and the next request starts it (and tries) again.
 *
 * @example migrateOnStart(ctx, "inbox", INBOX_SCHEMA); // in the object's constructor
 */
export function migrateOnStart(
  ctx: DurableObjectState,
  object: string,
  migrations: readonly Migration[],
): void {
  void ctx.blockConcurrencyWhile(async () => {
    migrateSchema(ctx.storage, object, migrations);
  });
}
