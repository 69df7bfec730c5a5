/**
 * What a relay owes its peers, on Workers: held slots, claims, and the batches handed to the
 * federation queue with their failed attempts, plus the dead letters. The queue message carries
 * only the batch id; the batch waits here, so a batch of any size fits the queue's message limit
 * and its attempts are counted where replay and drop can see them.
 *
 * Held slots are keyed by random ids in a table without row ids: nothing on disk keeps the order
 * forwards came in. The `n` columns order the relay's own bookkeeping (recently sent ids, dead
 * letters oldest first), never client traffic.
 */
import { DurableObject } from "cloudflare:workers";
import { randomBytes } from "../../../protocol/bytes.js";
import type { DeadLetter, OutboundClaim } from "../../../relay/ports/federation-queue.js";
import { RECENTLY_SENT } from "../../../relay/retry-delay.js";
import { migrateOnStart, type Migration } from "./schema-migrations.js";
import { bytesOf } from "./sql-bytes.js";

/** A batch waiting for delivery. */
export interface Outbound {
  peer: string;
  batch: Uint8Array;
  attempts: number;
}

/** The federation object's tables, oldest version first (see schema-migrations.ts). */
export const FEDERATION_SCHEMA: readonly Migration[] = [
  {
    version: 1,
    up: (sql) =>
      sql.exec(`
        CREATE TABLE IF NOT EXISTS held (
          id BLOB PRIMARY KEY, peer TEXT NOT NULL, slot BLOB NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS held_by_peer ON held (peer);
        CREATE TABLE IF NOT EXISTS claim_slots (
          claim TEXT NOT NULL, peer TEXT NOT NULL, n INTEGER NOT NULL, slot BLOB NOT NULL,
          PRIMARY KEY (claim, n)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS sent (id TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS outbound (
          id TEXT PRIMARY KEY, peer TEXT NOT NULL, batch BLOB NOT NULL,
          attempts INTEGER NOT NULL, enqueued INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS dead (
          id TEXT PRIMARY KEY, peer TEXT NOT NULL, batch BLOB NOT NULL,
          attempts INTEGER NOT NULL, n INTEGER NOT NULL
        ) WITHOUT ROWID;
      `),
  },
];

export class FederationObject extends DurableObject<object> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    migrateOnStart(ctx, "federation", FEDERATION_SCHEMA);
  }

  hold(peer: string, slot: Uint8Array): void {
    this.#sql.exec(
      "INSERT INTO held (id, peer, slot) VALUES (?, ?, ?)",
      randomBytes(16),
      peer,
      slot,
    );
  }

  /** Moves up to `max` held slots of `peer` into claim `id`; an empty claim is not stored. */
  claim(id: string, peer: string, max: number): Uint8Array[] {
    const rows = this.#sql
      .exec<{ id: ArrayBuffer; slot: ArrayBuffer }>(
        "SELECT id, slot FROM held WHERE peer = ? LIMIT ?",
        peer,
        Math.max(0, max),
      )
      .toArray();
    rows.forEach((row, n) => {
      this.#sql.exec("DELETE FROM held WHERE id = ?", row.id);
      this.#sql.exec(
        "INSERT INTO claim_slots (claim, peer, n, slot) VALUES (?, ?, ?, ?)",
        id,
        peer,
        n,
        row.slot,
      );
    });
    return rows.map((r) => bytesOf(r.slot));
  }

  unsent(): OutboundClaim[] {
    const claims = new Map<string, OutboundClaim>();
    for (const row of this.#sql
      .exec<{ claim: string; peer: string; slot: ArrayBuffer }>(
        "SELECT claim, peer, slot FROM claim_slots ORDER BY claim, n",
      )
      .toArray()) {
      let claim = claims.get(row.claim);
      if (!claim) claims.set(row.claim, (claim = { id: row.claim, peer: row.peer, slots: [] }));
      claim.slots.push(bytesOf(row.slot));
    }
    return [...claims.values()];
  }

  /**
   * Forgets claim `id` and keeps its batch for delivery, not yet enqueued; false if this claim
   * id was sent before (a rebuilt batch), which is then dropped.
   */
  prepare(id: string, peer: string, batch: Uint8Array): boolean {
    this.#sql.exec("DELETE FROM claim_slots WHERE claim = ?", id);
    if (this.#sql.exec("SELECT 1 FROM sent WHERE id = ?", id).toArray().length) return false;
    const n = this.#sql
      .exec<{ n: number }>("SELECT coalesce(max(n), 0) + 1 AS n FROM sent")
      .one().n;
    this.#sql.exec("INSERT INTO sent (id, n) VALUES (?, ?)", id, n);
    this.#sql.exec("DELETE FROM sent WHERE n <= ?", n - RECENTLY_SENT);
    this.#sql.exec(
      "INSERT INTO outbound (id, peer, batch, attempts, enqueued) VALUES (?, ?, ?, 0, 0)",
      id,
      peer,
      batch,
    );
    return true;
  }

  /** Marks a batch as handed to the queue. */
  enqueued(id: string): void {
    this.#sql.exec("UPDATE outbound SET enqueued = 1 WHERE id = ?", id);
  }

  /** Batches whose queue message was never sent (the sender failed after `prepare`). */
  notEnqueued(): string[] {
    return this.#sql
      .exec<{ id: string }>("SELECT id FROM outbound WHERE enqueued = 0")
      .toArray()
      .map((r) => r.id);
  }

  outbound(id: string): Outbound | undefined {
    const row = this.#sql
      .exec<{ peer: string; batch: ArrayBuffer; attempts: number }>(
        "SELECT peer, batch, attempts FROM outbound WHERE id = ?",
        id,
      )
      .toArray()[0];
    return row ? { peer: row.peer, batch: bytesOf(row.batch), attempts: row.attempts } : undefined;
  }

  delivered(id: string): void {
    this.#sql.exec("DELETE FROM outbound WHERE id = ?", id);
  }

  /**
   * Counts a failed attempt; at `maxAttempts` the batch becomes a dead letter, and the oldest
   * dead letters beyond `maxDeadLetters` are deleted (`dropped` of them).
   */
  failed(
    id: string,
    maxAttempts: number,
    maxDeadLetters?: number,
  ): { attempts: number; dead: boolean; dropped: number } | undefined {
    const row = this.outbound(id);
    if (!row) return undefined;
    const attempts = row.attempts + 1;
    if (attempts >= maxAttempts) {
      const dropped = this.#bury(id, row.peer, row.batch, attempts, maxDeadLetters);
      return { attempts, dead: true, dropped };
    }
    this.#sql.exec("UPDATE outbound SET attempts = ? WHERE id = ?", attempts, id);
    return { attempts, dead: false, dropped: 0 };
  }

  /**
   * Makes a batch the platform gave up on a dead letter (keeping at most `maxDeadLetters`, if
   * given): its peer, if it was still waiting, and how many older dead letters were deleted.
   */
  kill(id: string, maxDeadLetters?: number): { peer: string; dropped: number } | undefined {
    const row = this.outbound(id);
    if (!row) return undefined;
    const dropped = this.#bury(id, row.peer, row.batch, Math.max(row.attempts, 1), maxDeadLetters);
    return { peer: row.peer, dropped };
  }

  /** Files a dead letter; returns how many of the oldest were deleted to keep `max`. */
  #bury(
    id: string,
    peer: string,
    batch: Uint8Array,
    attempts: number,
    max: number | undefined,
  ): number {
    this.#sql.exec("DELETE FROM outbound WHERE id = ?", id);
    const n = this.#sql
      .exec<{ n: number }>("SELECT coalesce(max(n), 0) + 1 AS n FROM dead")
      .one().n;
    this.#sql.exec(
      "INSERT INTO dead (id, peer, batch, attempts, n) VALUES (?, ?, ?, ?, ?)",
      id,
      peer,
      batch,
      attempts,
      n,
    );
    if (max === undefined) return 0;
    return this.#sql.exec(
      "DELETE FROM dead WHERE n IN (SELECT n FROM dead ORDER BY n DESC LIMIT -1 OFFSET ?)",
      max,
    ).rowsWritten;
  }

  deadLetters(): DeadLetter[] {
    return this.#sql
      .exec<{ id: string; peer: string; batch: ArrayBuffer; attempts: number }>(
        "SELECT id, peer, batch, attempts FROM dead ORDER BY n",
      )
      .toArray()
      .map((r) => ({ id: r.id, peer: r.peer, attempts: r.attempts, batch: bytesOf(r.batch) }));
  }

  /** Puts a dead letter back for delivery with fresh attempts (not yet enqueued). */
  revive(id: string): boolean {
    const row = this.#sql
      .exec<{ peer: string; batch: ArrayBuffer }>("SELECT peer, batch FROM dead WHERE id = ?", id)
      .toArray()[0];
    if (!row) return false;
    this.#sql.exec("DELETE FROM dead WHERE id = ?", id);
    this.#sql.exec(
      "INSERT INTO outbound (id, peer, batch, attempts, enqueued) VALUES (?, ?, ?, 0, 0)",
      id,
      row.peer,
      row.batch,
    );
    return true;
  }

  drop(id: string): boolean {
    return this.#sql.exec("DELETE FROM dead WHERE id = ?", id).rowsWritten > 0;
  }

  peersWithTraffic(): string[] {
    return this.#sql
      .exec<{ peer: string }>("SELECT DISTINCT peer FROM held ORDER BY peer")
      .toArray()
      .map((r) => r.peer);
  }
}
