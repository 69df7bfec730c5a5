/**
 * Schema versions of the Durable Objects' storage: a new object starts at its class's latest
 * version; storage written before versions existed (today's tables, no version row) is adopted
 * as version 1 with every row as it was; a version newer than the code knows stops the object
 * before it writes anything; later migrations run once each, all or nothing.
 */
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  EXPIRY_SCHEMA,
  type ExpiryObject,
} from "../../src/adapters/workers/objects/expiry-object.js";
import {
  FEDERATION_SCHEMA,
  type FederationObject,
} from "../../src/adapters/workers/objects/federation-object.js";
import { INBOX_SCHEMA, type InboxObject } from "../../src/adapters/workers/objects/inbox-object.js";
import {
  KEY_RING_SCHEMA,
  type KeyRingObject,
} from "../../src/adapters/workers/objects/key-ring-object.js";
import {
  METRICS_SCHEMA,
  type MetricsObject,
} from "../../src/adapters/workers/objects/metrics-object.js";
import {
  REPLAY_SCHEMA,
  type ReplayObject,
} from "../../src/adapters/workers/objects/replay-object.js";
import { ROUND_SCHEMA, type RoundObject } from "../../src/adapters/workers/objects/round-object.js";
import {
  migrateSchema,
  SchemaVersionError,
  type Migration,
} from "../../src/adapters/workers/objects/schema-migrations.js";
import { randomBytes, toHex } from "../../src/protocol/bytes.js";

type Row = Record<string, unknown>;

/** A table's or an index's definition, and a table's rows. */
interface Stored {
  ddl: string;
  rows: Row[];
}

interface ObjectCase {
  object: string;
  schema: readonly Migration[];
  /** The tables of a new object, the version table included. */
  tables: string[];
  /** The object named `name` (a name no other test uses). */
  stub(name: string): DurableObjectStub;
  /** Puts at least one row in every table of object `name`, through the object's own calls. */
  fill(name: string): Promise<void>;
}

const CASES: ObjectCase[] = [
  {
    object: "inbox",
    schema: INBOX_SCHEMA,
    tables: ["items", "message_ids", "meta", "noted", "schema_version"],
    stub: (name) => env.INBOXES.get(env.INBOXES.idFromName(name)),
    fill: (name) =>
      runInDurableObject(
        env.INBOXES.get(env.INBOXES.idFromName(name)),
        async (inbox: InboxObject) => {
          const ref = { instance: name, inbox: toHex(randomBytes(32)) };
          await inbox.admit(ref, randomBytes(16), 20_000);
          await inbox.append(ref, [{ messageId: randomBytes(16), item: randomBytes(64) }], 20_000);
        },
      ),
  },
  {
    object: "round",
    schema: ROUND_SCHEMA,
    tables: ["round_entries", "round_state", "schedule", "schema_version"],
    stub: (name) => env.ROUNDS.get(env.ROUNDS.idFromName(name)),
    fill: (name) =>
      runInDurableObject(
        env.ROUNDS.get(env.ROUNDS.idFromName(name)),
        (round: RoundObject, state) => {
          const quota = { stored: { items: 0, bytes: 0 }, maxItems: 10, maxBytes: 1 << 20 };
          round.add(
            { inboxId: randomBytes(32), messageId: randomBytes(16), item: randomBytes(64) },
            quota,
          );
          // What start() writes, without the alarm it would also set.
          state.storage.sql.exec("INSERT INTO schedule (one, instance) VALUES (1, 'unused')");
        },
      ),
  },
  {
    object: "replay",
    schema: REPLAY_SCHEMA,
    tables: ["records", "schema_version"],
    stub: (name) => env.REPLAY.get(env.REPLAY.idFromName(name)),
    fill: (name) =>
      runInDurableObject(env.REPLAY.get(env.REPLAY.idFromName(name)), (replay: ReplayObject) => {
        replay.add("k1", randomBytes(32));
      }),
  },
  {
    object: "expiry",
    schema: EXPIRY_SCHEMA,
    tables: ["notes", "schema_version"],
    stub: (name) => env.EXPIRY.get(env.EXPIRY.idFromName(name)),
    fill: (name) =>
      runInDurableObject(env.EXPIRY.get(env.EXPIRY.idFromName(name)), (expiry: ExpiryObject) => {
        expiry.note(toHex(randomBytes(32)), 20_000);
      }),
  },
  {
    object: "key ring",
    schema: KEY_RING_SCHEMA,
    tables: ["ring", "schema_version"],
    stub: (name) => env.KEYRING.get(env.KEYRING.idFromName(name)),
    fill: (name) =>
      runInDurableObject(env.KEYRING.get(env.KEYRING.idFromName(name)), (ring: KeyRingObject) => {
        ring.put(randomBytes(100));
      }),
  },
  {
    object: "metrics",
    schema: METRICS_SCHEMA,
    tables: ["counters", "histograms", "schema_version"],
    stub: (name) => env.METRICS.get(env.METRICS.idFromName(name)),
    fill: (name) =>
      runInDurableObject(
        env.METRICS.get(env.METRICS.idFromName(name)),
        (metrics: MetricsObject) => {
          metrics.add({ counters: [["a_total", 2]], histograms: [["b_seconds", 1, 0.5]] });
        },
      ),
  },
  {
    object: "federation",
    schema: FEDERATION_SCHEMA,
    tables: ["claim_slots", "dead", "held", "outbound", "schema_version", "sent"],
    stub: (name) => env.FEDERATION.get(env.FEDERATION.idFromName(name)),
    fill: (name) =>
      runInDurableObject(
        env.FEDERATION.get(env.FEDERATION.idFromName(name)),
        (federation: FederationObject) => {
          const peer = "https://peer.example";
          federation.hold(peer, randomBytes(32));
          federation.hold(peer, randomBytes(32));
          federation.claim(toHex(randomBytes(16)), peer, 1);
          federation.prepare("0".repeat(32), peer, randomBytes(64));
          federation.prepare("1".repeat(32), peer, randomBytes(64));
          federation.failed("1".repeat(32), 1);
        },
      ),
  },
];

/** A name for a new object of this test. */
const fresh = (label: string) => `schema-${label.replace(" ", "-")}-${toHex(randomBytes(8))}`;

/** Every table of an object's storage with its definition and rows, and its schema version. */
function dump(state: DurableObjectState): {
  version: number | undefined;
  tables: Record<string, Stored>;
} {
  const sql = state.storage.sql;
  const tables: Record<string, Stored> = {};
  for (const { name, sql: ddl } of sql.exec<{ name: string; sql: string }>(
    "SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != 'schema_version' ORDER BY name",
  )) {
    // BLOBs as hex: toEqual does not look inside an ArrayBuffer.
    const rows = ddl.startsWith("CREATE TABLE")
      ? sql
          .exec(`SELECT * FROM "${name}" ORDER BY 1`)
          .toArray()
          .map((row) =>
            Object.fromEntries(
              Object.entries(row).map(([k, v]) => [
                k,
                v instanceof ArrayBuffer ? toHex(new Uint8Array(v)) : v,
              ]),
            ),
          )
      : [];
    tables[name] = { ddl, rows };
  }
  const hasVersion =
    sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'schema_version'").toArray().length > 0;
  const version = hasVersion
    ? sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0]?.version
    : undefined;
  return { version, tables };
}

describe.each(CASES)("the $object object", (c) => {
  it("starts a new object at its latest schema version", async () => {
    const seen = await runInDurableObject(c.stub(fresh(c.object)), (_, state) => ({
      version: dump(state).version,
      tables: state.storage.sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name",
        )
        .toArray()
        .map((r) => r.name),
    }));
    expect(seen).toEqual({ version: c.schema.length, tables: c.tables });
  });

  it("adopts tables written before schema versions as version 1, rows intact", async () => {
    const name = fresh(c.object);
    const stub = c.stub(name);
    await c.fill(name);
    const before = await runInDurableObject(stub, (_, state) => {
      // Storage as the code before versions left it: the same tables, no version table.
      state.storage.sql.exec("DROP TABLE schema_version");
      return dump(state);
    });
    expect(before.version).toBeUndefined();
    const empty = Object.entries(before.tables).filter(
      ([, t]) => t.ddl.startsWith("CREATE TABLE") && t.rows.length === 0,
    );
    expect(empty.map(([table]) => table)).toEqual([]);

    await evictDurableObject(stub);
    const after = await runInDurableObject(stub, (_, state) => dump(state));
    expect(after).toEqual({ version: 1, tables: before.tables });
  });

  it("refuses to start on a schema version newer than it knows", async () => {
    const stub = c.stub(fresh(c.object));
    const newer = c.schema.length + 1;
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec("UPDATE schema_version SET version = ?", newer);
    });
    await evictDurableObject(stub);
    // Every start tries again, and fails again the same way.
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(runInDurableObject(stub, () => "started")).rejects.toThrow(
        `the ${c.object} object's storage is at schema version ${newer}, newer than the ${c.schema.length} this code knows`,
      );
    }
  });
});

describe("migrateSchema", () => {
  /** The key ring's case: the scratch objects below are key ring objects. */
  const keyRing = CASES.find((c) => c.object === "key ring")!;
  /** A running object's storage to try migration lists on (the key ring's: one small table). */
  const scratch = (name = fresh("scratch")) => env.KEYRING.get(env.KEYRING.idFromName(name));

  it("writes nothing to storage at a newer version", async () => {
    const name = fresh("scratch");
    const stub = scratch(name);
    await keyRing.fill(name);
    const seen = await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec("UPDATE schema_version SET version = 7");
      const before = dump(state);
      let error: unknown;
      try {
        migrateSchema(state.storage, "key ring", KEY_RING_SCHEMA);
      } catch (e) {
        error = e;
      }
      return { error, before, after: dump(state) };
    });
    expect(seen.error).toBeInstanceOf(SchemaVersionError);
    expect(seen.after).toEqual(seen.before);
    expect(seen.after.version).toBe(7);
  });

  it("runs each later migration once, and a failing one not at all", async () => {
    const name = fresh("scratch");
    const stub = scratch(name);
    await keyRing.fill(name);
    const addColumn: Migration = {
      version: 2,
      up: (sql) => sql.exec("ALTER TABLE ring ADD COLUMN note TEXT NOT NULL DEFAULT 'v2'"),
    };
    const failing: Migration = {
      version: 3,
      up: (sql) => {
        sql.exec("CREATE TABLE half_done (a INTEGER)");
        throw new Error("this migration fails halfway");
      },
    };
    const seen = await runInDurableObject(stub, (_, state) => {
      const sql = state.storage.sql;
      const v2 = [...KEY_RING_SCHEMA, addColumn];
      const first = migrateSchema(state.storage, "key ring", v2);
      // A second start at the same code: ALTER TABLE would fail if it ran again.
      const second = migrateSchema(state.storage, "key ring", v2);
      let failed: unknown;
      try {
        migrateSchema(state.storage, "key ring", [...v2, failing]);
      } catch (e) {
        failed = e;
      }
      return {
        first,
        second,
        failed: failed instanceof Error ? failed.message : failed,
        version: dump(state).version,
        notes: sql.exec("SELECT note FROM ring").toArray(),
        halfDone: sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'half_done'").toArray(),
      };
    });
    expect(seen).toEqual({
      first: 2,
      second: 2,
      failed: "this migration fails halfway",
      version: 2,
      notes: [{ note: "v2" }],
      halfDone: [],
    });
  });

  it("refuses a list that skips or repeats a version", async () => {
    const seen = await runInDurableObject(scratch(), (_, state) => {
      try {
        migrateSchema(state.storage, "key ring", [
          KEY_RING_SCHEMA[0]!,
          { version: 3, up: () => {} },
        ]);
        return "ran";
      } catch (e) {
        return e instanceof Error ? e.message : String(e);
      }
    });
    expect(seen).toBe("key ring migrations must be numbered 1, 2, ...");
  });
});
