import type { SqlDriver } from "../sql/sql-driver.js";

/** The totals the SQLite store's caps are checked against (rows of `store_totals`). */
export type TotalName = "inboxes" | "item_bytes" | "pending_bytes" | "replay_records";

/**
 * Running totals kept in the file beside what they count and changed in the same transaction,
 * so a cap costs one row read instead of a scan, and a crash can never leave a total that
 * disagrees with the rows.
 *
 * @example if (totals.get("inboxes") >= maxInboxes) return "full";
 */
export class StoreTotals {
  constructor(private readonly sql: SqlDriver) {}

  get(name: TotalName): number {
    return (
      this.sql.all<{ value: number }>("SELECT value FROM store_totals WHERE name = ?", name)[0]
        ?.value ?? 0
    );
  }

  add(name: TotalName, by: number): void {
    if (by !== 0)
      this.sql.run("UPDATE store_totals SET value = value + ? WHERE name = ?", by, name);
  }
}
