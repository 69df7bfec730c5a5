/**
 * One inbox as a Durable Object with SQLite storage: its day-granularity expiry, items with
 * sequence numbers and the message ids it has delivered. Each
 * inbox is its own object, so inboxes never contend with each other and every operation on one
 * is atomic (SQL calls are synchronous; nothing awaits between a check and its write).
 *
 * Before an inbox first holds anything that expires on a later day than it told the expiry
 * index about, it tells the index (blocking this object's other requests meanwhile), so no
 * inbox can outlive its retention unseen.
 */
import { DurableObject } from "cloudflare:workers";
import type { Admission, InboxUsage } from "../../../relay/ports/inbox-store.js";
import { expiryName } from "../object-names.js";
import type { ExpiryObject } from "./expiry-object.js";
import { migrateOnStart, migrateSchema, type Migration } from "./schema-migrations.js";
import { bytesOf } from "./sql-bytes.js";

/** What the caller says about the inbox so this object can name itself to the expiry index. */
export interface InboxRef {
  instance: string;
  /** The inbox id in hex. */
  inbox: string;
}

export interface AppendedEntry {
  messageId: Uint8Array;
  item: Uint8Array;
}

interface Meta {
  expires_day: number;
  next_seq: number;
}

/** The bindings an inbox object uses. */
export interface InboxObjectEnv {
  EXPIRY: DurableObjectNamespace<ExpiryObject>;
}

/** An inbox object's tables, oldest version first (see schema-migrations.ts). */
export const INBOX_SCHEMA: readonly Migration[] = [
  {
    version: 1,
    up: (sql) =>
      sql.exec(`
        CREATE TABLE IF NOT EXISTS meta (
          one INTEGER PRIMARY KEY CHECK (one = 1),
          expires_day INTEGER NOT NULL,
          next_seq INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS noted (
          one INTEGER PRIMARY KEY CHECK (one = 1),
          day INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS items (
          seq INTEGER PRIMARY KEY,
          item BLOB NOT NULL,
          expires_day INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS message_ids (
          id BLOB PRIMARY KEY,
          expires_day INTEGER NOT NULL
        ) WITHOUT ROWID;
      `),
  },
];

export class InboxObject extends DurableObject<InboxObjectEnv> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: InboxObjectEnv) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    migrateOnStart(ctx, "inbox", INBOX_SCHEMA);
  }

  /**
   * Deletes the inbox whole; the object stays in memory, so the empty tables (at the latest
   * version, as in a new object) come back.
   */
  async #delete(): Promise<void> {
    await this.ctx.storage.deleteAll();
    migrateSchema(this.ctx.storage, "inbox", INBOX_SCHEMA);
  }

  #meta(): Meta | undefined {
    return this.#sql
      .exec<Meta & Record<string, SqlStorageValue>>("SELECT * FROM meta")
      .toArray()[0];
  }

  /** The latest expiry day the index knows this inbox by. */
  #noted(): number {
    return this.#sql.exec<{ day: number }>("SELECT day FROM noted").toArray()[0]?.day ?? -1;
  }

  /** Tells the expiry index about `day` unless it already knows a day as late. */
  async #note(ref: InboxRef, day: number): Promise<void> {
    if (this.#noted() >= day) return;
    await this.ctx.blockConcurrencyWhile(async () => {
      if (this.#noted() >= day) return;
      const index = this.env.EXPIRY.get(this.env.EXPIRY.idFromName(expiryName(ref.instance)));
      await index.note(ref.inbox, day);
      this.#sql.exec("INSERT OR REPLACE INTO noted (one, day) VALUES (1, ?)", day);
    });
  }

  /** Creates the inbox if need be, extends its expiry, and reports what a deposit needs. */
  async admit(ref: InboxRef, messageId: Uint8Array, expiresDay: number): Promise<Admission> {
    await this.#note(ref, expiresDay);
    const created = !this.#meta();
    if (created) {
      this.#sql.exec("INSERT INTO meta (one, expires_day, next_seq) VALUES (1, ?, 1)", expiresDay);
    } else {
      this.#sql.exec("UPDATE meta SET expires_day = max(expires_day, ?)", expiresDay);
    }
    const duplicate =
      this.#sql.exec("SELECT 1 FROM message_ids WHERE id = ?", messageId).toArray().length > 0;
    return { created, duplicate, stored: this.usage() };
  }

  usage(): InboxUsage {
    const row = this.#sql
      .exec<{ n: number; b: number }>(
        "SELECT count(*) AS n, coalesce(sum(length(item)), 0) AS b FROM items",
      )
      .one();
    return { items: row.n, bytes: row.b };
  }

  /**
   * Appends in the given order, skipping message ids already held; nothing for a missing inbox.
   * Returns how many it appended.
   */
  async append(ref: InboxRef, entries: AppendedEntry[], expiresDay: number): Promise<number> {
    if (!this.#meta()) return 0;
    await this.#note(ref, expiresDay);
    const meta = this.#meta();
    if (!meta) return 0;
    let seq = meta.next_seq;
    for (const entry of entries) {
      const known = this.#sql
        .exec("SELECT 1 FROM message_ids WHERE id = ?", entry.messageId)
        .toArray().length;
      if (known) continue;
      this.#sql.exec(
        "INSERT INTO message_ids (id, expires_day) VALUES (?, ?)",
        entry.messageId,
        expiresDay,
      );
      this.#sql.exec(
        "INSERT INTO items (seq, item, expires_day) VALUES (?, ?, ?)",
        seq++,
        entry.item,
        expiresDay,
      );
    }
    this.#sql.exec(
      "UPDATE meta SET next_seq = ?, expires_day = max(expires_day, ?)",
      seq,
      expiresDay,
    );
    return seq - meta.next_seq;
  }

  items(
    afterSeq: number,
    maxItems: number,
  ): { items: { seq: number; item: Uint8Array }[]; more: boolean } | undefined {
    if (!this.#meta()) return undefined;
    const rows = this.#sql
      .exec<{ seq: number; item: ArrayBuffer }>(
        "SELECT seq, item FROM items WHERE seq > ? ORDER BY seq LIMIT ?",
        afterSeq,
        maxItems + 1,
      )
      .toArray();
    return {
      items: rows.slice(0, maxItems).map((r) => ({ seq: r.seq, item: bytesOf(r.item) })),
      more: rows.length > maxItems,
    };
  }

  ack(upToSeq: number): number | undefined {
    if (!this.#meta()) return undefined;
    return this.#sql.exec("DELETE FROM items WHERE seq <= ?", upToSeq).rowsWritten;
  }

  /**
   * Removes items and message ids that expire before `today`, and the whole inbox once it is
   * idle past its expiry and empty. True if the inbox is gone.
   */
  async expire(today: number): Promise<boolean> {
    const meta = this.#meta();
    if (!meta) {
      await this.#delete();
      return true;
    }
    this.#sql.exec("DELETE FROM items WHERE expires_day < ?", today);
    this.#sql.exec("DELETE FROM message_ids WHERE expires_day < ?", today);
    const left = this.#sql.exec<{ n: number }>("SELECT count(*) AS n FROM items").one().n;
    if (meta.expires_day < today && left === 0) {
      await this.#delete();
      return true;
    }
    return false;
  }
}
