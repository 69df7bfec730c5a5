/**
 * Where a relay's key ring lives on Workers: one sealed value (see key-ring-seal.ts), encrypted
 * under the SHROUD_MASTER_KEY secret, which only the Worker holds. Rotation writes here, so
 * retired private keys are deleted for good (forward secrecy of the envelope layer), which a
 * key kept in a Worker secret could not give.
 */
import { DurableObject } from "cloudflare:workers";
import { migrateOnStart, type Migration } from "./schema-migrations.js";
import { bytesOf } from "./sql-bytes.js";

/** The key ring object's tables, oldest version first (see schema-migrations.ts). */
export const KEY_RING_SCHEMA: readonly Migration[] = [
  {
    version: 1,
    up: (sql) =>
      sql.exec(
        "CREATE TABLE IF NOT EXISTS ring (one INTEGER PRIMARY KEY CHECK (one = 1), sealed BLOB NOT NULL)",
      ),
  },
];

export class KeyRingObject extends DurableObject<object> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    migrateOnStart(ctx, "key ring", KEY_RING_SCHEMA);
  }

  get(): Uint8Array | undefined {
    const row = this.#sql.exec<{ sealed: ArrayBuffer }>("SELECT sealed FROM ring").toArray()[0];
    return row ? bytesOf(row.sealed) : undefined;
  }

  /** Stores `sealed` unless a ring is stored; returns whichever is stored after. */
  create(sealed: Uint8Array): Uint8Array {
    this.#sql.exec("INSERT OR IGNORE INTO ring (one, sealed) VALUES (1, ?)", sealed);
    return this.get()!;
  }

  put(sealed: Uint8Array): void {
    this.#sql.exec("INSERT OR REPLACE INTO ring (one, sealed) VALUES (1, ?)", sealed);
  }
}
