import { randomBytes } from "../../protocol/bytes.js";
import type { DeadLetter, OutboundClaim } from "../../relay/ports/federation-queue.js";
import { RECENTLY_SENT } from "../../relay/retry-delay.js";
import type { SqlDriver } from "./sql-driver.js";

/** A batch waiting for delivery. */
export interface Outbound {
  peer: string;
  batch: Uint8Array;
  attempts: number;
}

/**
 * What a relay owes its peers, on SQLite (the federation object's storage, or the embedded
 * SQLite store's file): held slots, claims, batches waiting for delivery with their failed
 * attempts, and dead letters. Delivery itself (timers, Cloudflare Queues) belongs to each
 * backend; this class only keeps the books, in synchronous calls the caller makes one
 * transaction each. The tables are made by createFederationTables (federation-tables.ts).
 *
 * @example const store = new SqlFederationStore(sql); store.hold(peer, slot);
 */
export class SqlFederationStore {
  constructor(private readonly sql: SqlDriver) {}

  hold(peer: string, slot: Uint8Array): void {
    this.sql.run("INSERT INTO held (id, peer, slot) VALUES (?, ?, ?)", randomBytes(16), peer, slot);
  }

  /** Moves up to `max` held slots of `peer` into claim `id`; an empty claim is not stored. */
  claim(id: string, peer: string, max: number): Uint8Array[] {
    const rows = this.sql.all<{ id: Uint8Array; slot: Uint8Array }>(
      "SELECT id, slot FROM held WHERE peer = ? LIMIT ?",
      peer,
      Math.max(0, max),
    );
    rows.forEach((row, n) => {
      this.sql.run("DELETE FROM held WHERE id = ?", row.id);
      this.sql.run(
        "INSERT INTO claim_slots (claim, peer, n, slot) VALUES (?, ?, ?, ?)",
        id,
        peer,
        n,
        row.slot,
      );
    });
    return rows.map((r) => r.slot);
  }

  unsent(): OutboundClaim[] {
    const claims = new Map<string, OutboundClaim>();
    for (const row of this.sql.all<{ claim: string; peer: string; slot: Uint8Array }>(
      "SELECT claim, peer, slot FROM claim_slots ORDER BY claim, n",
    )) {
      let claim = claims.get(row.claim);
      if (!claim) claims.set(row.claim, (claim = { id: row.claim, peer: row.peer, slots: [] }));
      claim.slots.push(row.slot);
    }
    return [...claims.values()];
  }

  /**
   * Forgets claim `id` and keeps its batch for delivery, not yet enqueued; false if this claim
   * id was sent before (a rebuilt batch), which is then dropped.
   */
  prepare(id: string, peer: string, batch: Uint8Array): boolean {
    this.sql.run("DELETE FROM claim_slots WHERE claim = ?", id);
    if (this.sql.all("SELECT 1 FROM sent WHERE id = ?", id).length) return false;
    const n = this.sql.all<{ n: number }>("SELECT coalesce(max(n), 0) + 1 AS n FROM sent")[0]!.n;
    this.sql.run("INSERT INTO sent (id, n) VALUES (?, ?)", id, n);
    this.sql.run("DELETE FROM sent WHERE n <= ?", n - RECENTLY_SENT);
    this.sql.run(
      "INSERT INTO outbound (id, peer, batch, attempts, enqueued) VALUES (?, ?, ?, 0, 0)",
      id,
      peer,
      batch,
    );
    return true;
  }

  /** Marks a batch as handed to the queue. */
  enqueued(id: string): void {
    this.sql.run("UPDATE outbound SET enqueued = 1 WHERE id = ?", id);
  }

  /** Batches whose queue message was never sent (the sender failed after `prepare`). */
  notEnqueued(): string[] {
    return this.sql
      .all<{ id: string }>("SELECT id FROM outbound WHERE enqueued = 0")
      .map((r) => r.id);
  }

  /** Every batch waiting for delivery, by id. */
  outboundIds(): string[] {
    return this.sql.all<{ id: string }>("SELECT id FROM outbound").map((r) => r.id);
  }

  outbound(id: string): Outbound | undefined {
    const row = this.sql.all<{ peer: string; batch: Uint8Array; attempts: number }>(
      "SELECT peer, batch, attempts FROM outbound WHERE id = ?",
      id,
    )[0];
    return row ? { peer: row.peer, batch: row.batch, attempts: row.attempts } : undefined;
  }

  delivered(id: string): void {
    this.sql.run("DELETE FROM outbound WHERE id = ?", id);
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
    this.sql.run("UPDATE outbound SET attempts = ? WHERE id = ?", attempts, id);
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
    this.sql.run("DELETE FROM outbound WHERE id = ?", id);
    const n = this.sql.all<{ n: number }>("SELECT coalesce(max(n), 0) + 1 AS n FROM dead")[0]!.n;
    this.sql.run(
      "INSERT INTO dead (id, peer, batch, attempts, n) VALUES (?, ?, ?, ?, ?)",
      id,
      peer,
      batch,
      attempts,
      n,
    );
    if (max === undefined) return 0;
    return this.sql.run(
      "DELETE FROM dead WHERE n IN (SELECT n FROM dead ORDER BY n DESC LIMIT -1 OFFSET ?)",
      max,
    );
  }

  deadLetters(): DeadLetter[] {
    return this.sql
      .all<{ id: string; peer: string; batch: Uint8Array; attempts: number }>(
        "SELECT id, peer, batch, attempts FROM dead ORDER BY n",
      )
      .map((r) => ({ id: r.id, peer: r.peer, attempts: r.attempts, batch: r.batch }));
  }

  /** Puts a dead letter back for delivery with fresh attempts (not yet enqueued). */
  revive(id: string): boolean {
    const row = this.sql.all<{ peer: string; batch: Uint8Array }>(
      "SELECT peer, batch FROM dead WHERE id = ?",
      id,
    )[0];
    if (!row) return false;
    this.sql.run("DELETE FROM dead WHERE id = ?", id);
    this.sql.run(
      "INSERT INTO outbound (id, peer, batch, attempts, enqueued) VALUES (?, ?, ?, 0, 0)",
      id,
      row.peer,
      row.batch,
    );
    return true;
  }

  drop(id: string): boolean {
    return this.sql.run("DELETE FROM dead WHERE id = ?", id) > 0;
  }

  peersWithTraffic(): string[] {
    return this.sql
      .all<{ peer: string }>("SELECT DISTINCT peer FROM held ORDER BY peer")
      .map((r) => r.peer);
  }
}
