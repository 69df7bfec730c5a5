import type { SqlDriver, SqlValue } from "../../sql/sql-driver.js";

/** A row as Durable Object SQLite returns it, BLOBs turned from ArrayBuffer into Uint8Array. */
function withBytes<T>(row: Record<string, SqlStorageValue>): T {
  for (const key of Object.keys(row)) {
    const value = row[key];
    if (value instanceof ArrayBuffer) row[key] = new Uint8Array(value) as unknown as ArrayBuffer;
  }
  return row as T;
}

/**
 * The shared SQL (src/adapters/sql) on a Durable Object's storage. Every call is synchronous,
 * and an object runs one event at a time, so a call between two awaits is atomic already;
 * `transaction` is `transactionSync` for the migrations.
 *
 * @example const pool = new SqlRoundPool(durableSql(ctx.storage));
 */
export function durableSql(storage: DurableObjectStorage): SqlDriver {
  const sql = storage.sql;
  return {
    exec: (text) => void sql.exec(text),
    run: (text, ...params: SqlValue[]) => sql.exec(text, ...params).rowsWritten,
    all: <T extends object>(text: string, ...params: SqlValue[]) =>
      sql
        .exec(text, ...params)
        .toArray()
        .map((row) => withBytes<T>(row)),
    transaction: (body) => storage.transactionSync(body),
  };
}
