import type { Database, Statement } from "better-sqlite3";
import type { SqlDriver, SqlValue } from "../sql/sql-driver.js";

/** A row as better-sqlite3 returns it, BLOBs (Buffers) as plain Uint8Array views. */
function withBytes<T>(row: Record<string, unknown>): T {
  for (const key of Object.keys(row)) {
    const value = row[key];
    if (Buffer.isBuffer(value)) {
      row[key] = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    }
  }
  return row as T;
}

/**
 * The shared SQL (src/adapters/sql) on a better-sqlite3 connection. Statements are prepared
 * once and cached by text. `transaction` takes the write lock at once (BEGIN IMMEDIATE), so a
 * second connection on the file (`shroud keys rotate`) waits on the busy timeout rather than
 * failing half way; nested calls run as savepoints inside the outer transaction.
 *
 * @example const sql = sqliteDriver(new Database(path));
 */
export function sqliteDriver(db: Database): SqlDriver {
  const statements = new Map<string, Statement<SqlValue[]>>();
  const prepared = (text: string) => {
    let statement = statements.get(text);
    if (!statement) {
      statement = db.prepare<SqlValue[]>(text);
      statements.set(text, statement);
    }
    return statement;
  };
  const transaction = db.transaction((body: () => unknown) => body());
  return {
    exec: (text) => void db.exec(text),
    run: (text, ...params) => prepared(text).run(...params).changes,
    all: <T extends object>(text: string, ...params: SqlValue[]) =>
      (prepared(text).all(...params) as Record<string, unknown>[]).map((row) => withBytes<T>(row)),
    transaction: <T>(body: () => T) => transaction.immediate(body) as T,
  };
}
