/**
 * Rounds of one SQLite file served by several processes (`serve --workers N`): every process
 * ticks at the round interval, and only the one holding the file's `rounds` lease closes a
 * round; it renews the lease at each tick. A holder that stops gives the lease up; one that dies
 * loses it when it runs out (LEASE_INTERVALS rounds), and the next process to tick takes it and
 * closes the rounds from then on, the one the dead holder left half delivered first (the round
 * closer's own recovery). The lease row holds a random name for the process and when the lease
 * ends: nothing about any client or request.
 */
import { randomBytes, toHex } from "../../protocol/bytes.js";
import type { Clock } from "../../relay/ports/clock.js";
import type { RoundScheduler } from "../../relay/ports/round-scheduler.js";
import type { SqlDriver } from "../sql/sql-driver.js";

/** Round intervals a lease lasts without being renewed. */
export const LEASE_INTERVALS = 3;

const LEASE = "rounds";

/**
 * @example const rounds = new SqliteRoundLease(db.sql, systemClock); await rounds.start(1000, close);
 */
export class SqliteRoundLease implements RoundScheduler {
  readonly #holder = toHex(randomBytes(8));
  #timer: ReturnType<typeof setInterval> | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(
    private readonly sql: SqlDriver,
    private readonly clock: Clock,
  ) {}

  async start(intervalMs: number, close: () => Promise<void>): Promise<void> {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      let held: boolean;
      try {
        held = this.#renew(intervalMs);
      } catch {
        // The file is busy past its timeout: the next tick asks again.
        return;
      }
      if (held) this.#running = close().catch(() => undefined);
    }, intervalMs);
  }

  /** Takes or renews the lease; false while another process holds it. */
  #renew(intervalMs: number): boolean {
    const now = this.clock.now();
    return this.sql.transaction(() => {
      const row = this.#row();
      if (row && row.holder !== this.#holder && row.expires_at > now) return false;
      this.sql.run(
        `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at`,
        LEASE,
        this.#holder,
        now + LEASE_INTERVALS * intervalMs,
      );
      return true;
    });
  }

  /** Whether this process holds the lease now (for tests and status). */
  get holding(): boolean {
    const row = this.#row();
    return row !== undefined && row.holder === this.#holder && row.expires_at > this.clock.now();
  }

  #row(): { holder: string; expires_at: number } | undefined {
    return this.sql.all<{ holder: string; expires_at: number }>(
      "SELECT holder, expires_at FROM leases WHERE name = ?",
      LEASE,
    )[0];
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
    try {
      // Given up at once, so another process takes over at its next tick.
      this.sql.run("DELETE FROM leases WHERE name = ? AND holder = ?", LEASE, this.#holder);
    } catch {
      // The file is busy or closed: the lease runs out by itself.
    }
  }
}
