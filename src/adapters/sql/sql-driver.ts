/**
 * The few calls the shared SQL of the Durable Objects and the embedded SQLite store needs, so
 * one module can hold their tables and queries: Durable Object storage (`ctx.storage.sql`)
 * and better-sqlite3 each implement it in their own adapter. Nothing here names a runtime.
 */

/** A value bound to, or read from, a statement. BLOBs are Uint8Array both ways. */
export type SqlValue = number | string | Uint8Array | null;

export interface SqlDriver {
  /** Runs statements without parameters, separated by semicolons (table definitions). */
  exec(sql: string): void;
  /** Runs one statement; the number of rows it wrote. */
  run(sql: string, ...params: SqlValue[]): number;
  /** Runs one query; its rows, with BLOBs as Uint8Array. */
  all<T extends object>(sql: string, ...params: SqlValue[]): T[];
  /** Runs `body` in one transaction: all of its writes happen, or (if it throws) none. */
  transaction<T>(body: () => T): T;
}
