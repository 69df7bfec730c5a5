import { keyRingFromJson, keyRingToJson } from "../../relay/key-ring-json.js";
import type { KeyStore, StoredKeyRing } from "../../relay/ports/key-store.js";
import type { SqlDriver } from "../sql/sql-driver.js";

/**
 * The key ring in the SQLite file (`key_ring`, one row), as JSON like keys.json
 * (key-ring-json.ts): in the same file as the replay records that guard its HPKE keys, so the
 * two are kept, copied and lost together.
 *
 * @example const keys = new SqliteKeyStore(db.sql);
 */
export class SqliteKeyStore implements KeyStore {
  constructor(private readonly sql: SqlDriver) {}

  async load(): Promise<StoredKeyRing | undefined> {
    const row = this.sql.all<{ ring: string }>("SELECT ring FROM key_ring")[0];
    return row ? keyRingFromJson(row.ring) : undefined;
  }

  async create(ring: StoredKeyRing): Promise<StoredKeyRing> {
    const stored = this.sql.transaction(() => {
      this.sql.run("INSERT OR IGNORE INTO key_ring (one, ring) VALUES (1, ?)", keyRingToJson(ring));
      return this.sql.all<{ ring: string }>("SELECT ring FROM key_ring")[0]!.ring;
    });
    return keyRingFromJson(stored);
  }

  async save(ring: StoredKeyRing): Promise<void> {
    this.sql.run("INSERT OR REPLACE INTO key_ring (one, ring) VALUES (1, ?)", keyRingToJson(ring));
  }
}
