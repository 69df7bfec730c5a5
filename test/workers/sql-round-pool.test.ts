/**
 * The round object's SQLite pool takes over entries left pending under its earlier layout (one
 * `entries` table, '' for the open round, a closed round's id otherwise): nothing pending is lost
 * across the upgrade, the open ones close with the next round, the closed ones are delivered first.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { roundName } from "../../src/adapters/workers/object-names.js";
import { SqlRoundPool } from "../../src/adapters/workers/sql-round-pool.js";
import { randomBytes, toHex } from "../../src/protocol/bytes.js";
import { DEFAULT_PAGE_LIMIT } from "../../src/relay/ports/round-pool.js";

it("moves entries pending under the earlier table layout into the pool", async () => {
  const round = env.ROUNDS.get(env.ROUNDS.idFromName(roundName(`legacy-${toHex(randomBytes(8))}`)));
  const rows = ["", "", "", "0123abcd", "0123abcd"].map((id) => ({
    id,
    inbox: randomBytes(32),
    message: randomBytes(16),
    item: randomBytes(40),
  }));
  const seen = await runInDurableObject(round, (_, state) => {
    const sql = state.storage.sql;
    // The object has started (with its pool); put back the table an earlier version kept.
    sql.exec(`CREATE TABLE entries (
      inbox BLOB NOT NULL, message BLOB NOT NULL, item BLOB NOT NULL,
      round TEXT NOT NULL DEFAULT '', PRIMARY KEY (inbox, message)) WITHOUT ROWID`);
    for (const r of rows) {
      sql.exec("INSERT INTO entries VALUES (?, ?, ?, ?)", r.inbox, r.message, r.item, r.id);
    }
    const pool = new SqlRoundPool(sql);
    const unreleased = pool.unreleasedNow();
    const old = pool.pageNow("0123abcd", DEFAULT_PAGE_LIMIT);
    const pending = pool.pending();
    const closed = pool.closeNow()!;
    const fresh = pool.pageNow(closed, DEFAULT_PAGE_LIMIT);
    const tables = sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE name = 'entries'")
      .toArray();
    return {
      unreleased,
      old: old.map((e) => toHex(e.item)).sort(),
      pending,
      fresh: fresh.map((e) => toHex(e.item)).sort(),
      tables,
    };
  });
  const items = (id: string) =>
    rows
      .filter((r) => r.id === id)
      .map((r) => toHex(r.item))
      .sort();
  expect(seen).toEqual({
    unreleased: ["0123abcd"],
    old: items("0123abcd"),
    pending: 3,
    fresh: items(""),
    tables: [],
  });
});
