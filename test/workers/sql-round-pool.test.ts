/**
 * The round object takes over entries left pending under the pool's first layout (one `entries`
 * table, '' for the open round, a closed round's id otherwise) when it adopts storage from before
 * schema versions: nothing pending is lost across the upgrade, the open ones close with the next
 * round, the closed ones are delivered first.
 */
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import { roundName } from "../../src/adapters/workers/object-names.js";
import type { RoundObject } from "../../src/adapters/workers/objects/round-object.js";
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
  await runInDurableObject(round, (_, state) => {
    const sql = state.storage.sql;
    // Storage as the first layout left it: the object has started, so take its tables away.
    for (const table of ["round_entries", "round_state", "schema_version"]) {
      sql.exec(`DROP TABLE ${table}`);
    }
    sql.exec(`CREATE TABLE entries (
      inbox BLOB NOT NULL, message BLOB NOT NULL, item BLOB NOT NULL,
      round TEXT NOT NULL DEFAULT '', PRIMARY KEY (inbox, message)) WITHOUT ROWID`);
    for (const r of rows) {
      sql.exec("INSERT INTO entries VALUES (?, ?, ?, ?)", r.inbox, r.message, r.item, r.id);
    }
  });
  await evictDurableObject(round);
  const seen = await runInDurableObject<RoundObject, object>(round, (object, state) => {
    const unreleased = object.unreleased();
    const old = object.page("0123abcd", DEFAULT_PAGE_LIMIT);
    const pending = object.pending();
    const closed = object.close()!;
    const fresh = object.page(closed, DEFAULT_PAGE_LIMIT);
    const tables = state.storage.sql
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
