/**
 * The expiry index of one relay: which inboxes hold something that expires on which day. The
 * platform cannot list Durable Objects, so retention needs this to find the inboxes to expire.
 * It holds inbox ids and day numbers only (both are allowed at rest: see docs/THREAT-MODEL.md), and an
 * inbox writes here at most once per day of expiry it gains.
 */
import { DurableObject } from "cloudflare:workers";
import { migrateOnStart, type Migration } from "./schema-migrations.js";

/** The expiry index's tables, oldest version first (see schema-migrations.ts). */
export const EXPIRY_SCHEMA: readonly Migration[] = [
  {
    version: 1,
    up: (sql) =>
      sql.exec(`
        CREATE TABLE IF NOT EXISTS notes (
          day INTEGER NOT NULL,
          inbox TEXT NOT NULL,
          PRIMARY KEY (day, inbox)
        ) WITHOUT ROWID;
      `),
  },
];

export class ExpiryObject extends DurableObject<object> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    migrateOnStart(ctx, "expiry", EXPIRY_SCHEMA);
  }

  /** Records that `inbox` (hex id) holds something expiring on `day`. */
  note(inbox: string, day: number): void {
    this.#sql.exec("INSERT OR IGNORE INTO notes (day, inbox) VALUES (?, ?)", day, inbox);
  }

  /** Up to `limit` inboxes noted with a day before `today`. */
  due(today: number, limit: number): string[] {
    return this.#sql
      .exec<{ inbox: string }>(
        "SELECT DISTINCT inbox FROM notes WHERE day < ? LIMIT ?",
        today,
        limit,
      )
      .toArray()
      .map((r) => r.inbox);
  }

  /** Forgets the notes before `today` of inboxes that have been expired. */
  done(inboxes: string[], today: number): void {
    for (const inbox of inboxes) {
      this.#sql.exec("DELETE FROM notes WHERE inbox = ? AND day < ?", inbox, today);
    }
  }
}
