import { toHex } from "../../protocol/bytes.js";
import type {
  Admission,
  InboxStore,
  InboxUsage,
  RoundEntry,
  StoredItem,
} from "../../relay/ports/inbox-store.js";
import type { SqlDriver } from "../sql/sql-driver.js";
import {
  DEFAULT_MEMORY_INBOX_LIMITS,
  type MemoryInboxLimits,
} from "../memory/memory-inbox-store.js";
import { StoreTotals } from "./store-totals.js";

/**
 * The inbox store in the SQLite file: `inboxes` (expiry day, next seq), `inbox_items` (seq,
 * padded item, expiry day) and `inbox_message_ids` (delivered message ids, expiry day), keyed
 * by inbox id, as Redis and the inbox objects keep them. Every call is one transaction, so a
 * call that fails changes nothing. The caps are the embedded store's (MemoryInboxLimits), read
 * against `store_totals`: past them a deposit is refused ("full") rather than the disk filled.
 *
 * @example const store = new SqliteInboxStore(db.sql, { maxInboxes: 10_000 });
 */
export class SqliteInboxStore implements InboxStore {
  readonly #limits: MemoryInboxLimits;
  readonly #totals: StoreTotals;

  constructor(
    private readonly sql: SqlDriver,
    limits: Partial<MemoryInboxLimits> = {},
  ) {
    this.#limits = { ...DEFAULT_MEMORY_INBOX_LIMITS, ...limits };
    this.#totals = new StoreTotals(sql);
  }

  /** Inboxes and item bytes held now, for tests and the benchmark. */
  get size(): { inboxes: number; bytes: number } {
    return { inboxes: this.#totals.get("inboxes"), bytes: this.#totals.get("item_bytes") };
  }

  #exists(inboxId: Uint8Array): boolean {
    return this.sql.all("SELECT 1 FROM inboxes WHERE id = ?", inboxId).length > 0;
  }

  #usage(inboxId: Uint8Array): InboxUsage {
    const row = this.sql.all<{ n: number; b: number }>(
      "SELECT count(*) AS n, coalesce(sum(length(item)), 0) AS b FROM inbox_items WHERE inbox = ?",
      inboxId,
    )[0]!;
    return { items: row.n, bytes: row.b };
  }

  async admit(
    inboxId: Uint8Array,
    messageId: Uint8Array,
    expiresDay: number,
  ): Promise<Admission | "full"> {
    return this.sql.transaction(() => {
      if (this.#totals.get("item_bytes") >= this.#limits.maxBytes) return "full";
      const created = !this.#exists(inboxId);
      if (created) {
        if (this.#totals.get("inboxes") >= this.#limits.maxInboxes) return "full";
        this.sql.run(
          "INSERT INTO inboxes (id, expires_day, next_seq) VALUES (?, ?, 1)",
          inboxId,
          expiresDay,
        );
        this.#totals.add("inboxes", 1);
      } else {
        this.sql.run(
          "UPDATE inboxes SET expires_day = ? WHERE id = ? AND expires_day < ?",
          expiresDay,
          inboxId,
          expiresDay,
        );
      }
      const duplicate =
        this.sql.all(
          "SELECT 1 FROM inbox_message_ids WHERE inbox = ? AND id = ?",
          inboxId,
          messageId,
        ).length > 0;
      return { created, duplicate, stored: this.#usage(inboxId) };
    });
  }

  async usage(inboxId: Uint8Array): Promise<InboxUsage> {
    return this.#usage(inboxId);
  }

  async appendRound(entries: readonly RoundEntry[], expiresDay: number): Promise<number> {
    return this.sql.transaction(() => {
      /** inbox id (hex) -> its id and next seq, for the inboxes this call touched. */
      const touched = new Map<string, { id: Uint8Array; nextSeq: number } | null>();
      let bytes = 0;
      let appended = 0;
      for (const entry of entries) {
        const key = toHex(entry.inboxId);
        let inbox = touched.get(key);
        if (inbox === undefined) {
          const row = this.sql.all<{ next_seq: number }>(
            "SELECT next_seq FROM inboxes WHERE id = ?",
            entry.inboxId,
          )[0];
          inbox = row ? { id: entry.inboxId, nextSeq: row.next_seq } : null;
          touched.set(key, inbox);
        }
        if (!inbox) continue;
        const known = this.sql.run(
          "INSERT OR IGNORE INTO inbox_message_ids (inbox, id, expires_day) VALUES (?, ?, ?)",
          inbox.id,
          entry.messageId,
          expiresDay,
        );
        if (known === 0) continue;
        this.sql.run(
          "INSERT INTO inbox_items (inbox, seq, item, expires_day) VALUES (?, ?, ?, ?)",
          inbox.id,
          inbox.nextSeq++,
          entry.item,
          expiresDay,
        );
        bytes += entry.item.length;
        appended += 1;
      }
      for (const inbox of touched.values()) {
        if (!inbox) continue;
        this.sql.run(
          "UPDATE inboxes SET next_seq = ?, expires_day = max(expires_day, ?) WHERE id = ?",
          inbox.nextSeq,
          expiresDay,
          inbox.id,
        );
      }
      this.#totals.add("item_bytes", bytes);
      return appended;
    });
  }

  async fetch(
    inboxId: Uint8Array,
    afterSeq: number,
    maxItems: number,
  ): Promise<{ items: StoredItem[]; more: boolean } | undefined> {
    return this.sql.transaction(() => {
      if (!this.#exists(inboxId)) return undefined;
      const rows = this.sql.all<{ seq: number; item: Uint8Array }>(
        "SELECT seq, item FROM inbox_items WHERE inbox = ? AND seq > ? ORDER BY seq LIMIT ?",
        inboxId,
        afterSeq,
        Math.max(0, Math.floor(maxItems)) + 1,
      );
      return {
        items: rows.slice(0, maxItems).map((r) => ({ seq: r.seq, item: r.item })),
        more: rows.length > maxItems,
      };
    });
  }

  async ack(inboxId: Uint8Array, upToSeq: number): Promise<number | undefined> {
    return this.sql.transaction(() => {
      if (!this.#exists(inboxId)) return undefined;
      const removed = this.sql.all<{ n: number; b: number }>(
        "SELECT count(*) AS n, coalesce(sum(length(item)), 0) AS b FROM inbox_items WHERE inbox = ? AND seq <= ?",
        inboxId,
        upToSeq,
      )[0]!;
      this.sql.run("DELETE FROM inbox_items WHERE inbox = ? AND seq <= ?", inboxId, upToSeq);
      this.#totals.add("item_bytes", -removed.b);
      return removed.n;
    });
  }

  async expire(today: number): Promise<void> {
    this.sql.transaction(() => {
      const expired = this.sql.all<{ b: number }>(
        "SELECT coalesce(sum(length(item)), 0) AS b FROM inbox_items WHERE expires_day < ?",
        today,
      )[0]!.b;
      this.sql.run("DELETE FROM inbox_items WHERE expires_day < ?", today);
      this.sql.run("DELETE FROM inbox_message_ids WHERE expires_day < ?", today);
      this.#totals.add("item_bytes", -expired);
      // An inbox idle past its expiry and empty goes, with what it still remembers.
      const gone = this.sql.all<{ id: Uint8Array }>(
        `SELECT id FROM inboxes WHERE expires_day < ?
         AND NOT EXISTS (SELECT 1 FROM inbox_items WHERE inbox_items.inbox = inboxes.id)`,
        today,
      );
      for (const { id } of gone) {
        this.sql.run("DELETE FROM inbox_message_ids WHERE inbox = ?", id);
        this.sql.run("DELETE FROM inboxes WHERE id = ?", id);
      }
      this.#totals.add("inboxes", -gone.length);
    });
  }
}
