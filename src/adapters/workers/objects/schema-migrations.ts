/**
 * Schema versions of the Durable Objects' SQLite storage: each object class declares its tables
 * as an ordered list of migrations (see src/adapters/sql/schema-migrations.ts, shared with the
 * embedded SQLite store), run once at the object's start.
 */
import { migrateSql, SchemaVersionError, type Migration } from "../../sql/schema-migrations.js";
import { durableSql } from "./durable-sql-driver.js";

export { SchemaVersionError, type Migration };

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
  return migrateSql(durableSql(storage), migrations, {
    schema: object,
    storage: `the ${object} object's storage`,
    remedy: "deploy the code that wrote it",
  });
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
