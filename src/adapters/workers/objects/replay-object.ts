/**
 * One shard of a relay's replay set: records (request encs, federation batch ids) kept whole
 * per tag until the tag is forgotten. Records are random to an observer, so a table without
 * row ids keeps them in key order and nothing on disk shows the order they came in.
 */
import { DurableObject } from "cloudflare:workers";
import { createReplayTables } from "../../sql/replay-tables.js";
import { migrateOnStart, type Migration } from "./schema-migrations.js";

/** A replay shard's tables, oldest version first (see schema-migrations.ts). */
export const REPLAY_SCHEMA: readonly Migration[] = [{ version: 1, up: createReplayTables }];

export class ReplayObject extends DurableObject<object> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    migrateOnStart(ctx, "replay", REPLAY_SCHEMA);
  }

  /** Records `record` under `tag`; false if it was already there. */
  add(tag: string, record: Uint8Array): boolean {
    return (
      this.#sql.exec("INSERT OR IGNORE INTO records (tag, record) VALUES (?, ?)", tag, record)
        .rowsWritten > 0
    );
  }

  has(tag: string, record: Uint8Array): boolean {
    return (
      this.#sql.exec("SELECT 1 FROM records WHERE tag = ? AND record = ?", tag, record).toArray()
        .length > 0
    );
  }

  forget(tag: string): void {
    this.#sql.exec("DELETE FROM records WHERE tag = ?", tag);
  }
}
