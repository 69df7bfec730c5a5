/**
 * Several processes on one SQLite file close its rounds through one lease: only the holder
 * closes, a holder that stops hands over at the next tick, and one that dies (its connection
 * gone, the lease left behind) is replaced once its lease has run out. Two connections to one
 * file stand for two processes; the lease's clock is moved by hand, so slow timers on a busy
 * machine cannot make a lease run out by themselves.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import {
  openSqliteDatabase,
  type SqliteDatabase,
} from "../../src/adapters/sqlite/sqlite-database.js";
import { LEASE_INTERVALS, SqliteRoundLease } from "../../src/adapters/sqlite/sqlite-round-lease.js";
import { manualClock } from "../../testkit/manual-clock.js";

const INTERVAL_MS = 20;
const open: SqliteDatabase[] = [];
const started: SqliteRoundLease[] = [];
let dir: string | undefined;

afterEach(async () => {
  for (const lease of started.splice(0)) await lease.stop();
  for (const db of open.splice(0)) {
    try {
      db.close();
    } catch {
      // Closed by the test.
    }
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function processes(count: number) {
  dir = await mkdtemp(join(tmpdir(), "shroud-round-lease-"));
  const clock = manualClock();
  const file = join(dir, "shroud.db");
  return Array.from({ length: count }, () => {
    const db = openSqliteDatabase(file);
    open.push(db);
    const lease = new SqliteRoundLease(db.sql, clock);
    let closes = 0;
    const start = () => {
      started.push(lease);
      return lease.start(INTERVAL_MS, async () => {
        closes++;
      });
    };
    return { db, lease, clock, start, closes: () => closes };
  });
}

it("lets only the holder close rounds, and hands over when it stops", async () => {
  const [a, b] = await processes(2);
  await a!.start();
  await expect.poll(() => a!.closes(), { timeout: 10_000 }).toBeGreaterThan(0);
  await b!.start();
  const before = a!.closes();
  await expect.poll(() => a!.closes(), { timeout: 10_000 }).toBeGreaterThan(before + 5);
  expect(b!.closes()).toBe(0);
  expect(a!.lease.holding).toBe(true);
  expect(b!.lease.holding).toBe(false);

  await a!.lease.stop();
  const stopped = a!.closes();
  await expect.poll(() => b!.closes(), { timeout: 10_000 }).toBeGreaterThan(0);
  expect(a!.closes()).toBe(stopped);
  expect(b!.lease.holding).toBe(true);
});

it("takes over from a holder that died once its lease has run out", async () => {
  const [a, b] = await processes(2);
  await a!.start();
  await expect.poll(() => a!.lease.holding, { timeout: 10_000 }).toBe(true);
  // The holder dies: its file handle is gone, its lease row stays.
  a!.db.close();
  const closesAtDeath = a!.closes();
  await b!.start();
  await new Promise((resolve) => setTimeout(resolve, 5 * INTERVAL_MS));
  expect(b!.closes()).toBe(0);
  // The lease lasts LEASE_INTERVALS rounds from its last renewal.
  a!.clock.advance(LEASE_INTERVALS * INTERVAL_MS + 1);
  await expect.poll(() => b!.closes(), { timeout: 10_000 }).toBeGreaterThan(0);
  expect(a!.closes()).toBe(closesAtDeath);
});
