import { join } from "node:path";
import { systemClock, type Clock } from "../../relay/ports/clock.js";
import type { RelayPorts } from "../../relay/relay.js";
import { IntervalRoundScheduler } from "../memory/interval-round-scheduler.js";
import type { MemoryInboxLimits } from "../memory/memory-inbox-store.js";
import { openSqliteDatabase, SQLITE_FILE_NAME } from "./sqlite-database.js";
import { SqliteFederationQueue } from "./sqlite-federation-queue.js";
import { SqliteInboxStore } from "./sqlite-inbox-store.js";
import { SqliteKeyStore } from "./sqlite-key-store.js";
import { SqliteMetrics } from "./sqlite-metrics.js";
import { SqliteReplaySet } from "./sqlite-replay-set.js";
import { SqliteRoundLease } from "./sqlite-round-lease.js";
import { SqliteRoundPool, type SqliteRoundPoolOptions } from "./sqlite-round-pool.js";

/** The SQLite backend's ports, with concrete types for tests and the CLI. */
export interface SqlitePorts extends RelayPorts {
  inboxes: SqliteInboxStore;
  pool: SqliteRoundPool;
  replay: SqliteReplaySet;
  keys: SqliteKeyStore;
  metrics: SqliteMetrics;
  federation: SqliteFederationQueue;
  /** The store's file. */
  path: string;
  /** Resolves when the file answers a query (for readiness checks). */
  ping(): Promise<void>;
  /** Closes the file (after the relay has stopped). */
  close(): Promise<void>;
}

/** Where the SQLite backend keeps its file, and the caps of its store. */
export interface SqlitePortsOptions {
  /** The data directory; the store is its `shroud.db`. */
  dataDir: string;
  clock?: Clock;
  /** The caps of the embedded store (see MemoryInboxLimits). */
  inboxes?: Partial<MemoryInboxLimits>;
  pool?: SqliteRoundPoolOptions;
  replay?: { maxRecords?: number };
  /**
   * Other processes serve the same file (`serve --workers N`): rounds are closed by whichever
   * holds the file's lease (SqliteRoundLease) instead of on this process's own timer.
   */
  shared?: boolean;
}

/**
 * Every storage port in one SQLite file, DIR/shroud.db: inboxes, rounds, replay records, the
 * federation queue with its dead letters, the key ring and the aggregate metrics. Rounds close
 * on a timer in this process, as on the in-memory store; with `shared`, several processes serve
 * the file and the one holding its lease closes them.
 *
 * @example
 * const ports = sqlitePorts({ dataDir: ".shroud" });
 * const relay = await Relay.open(config, ports);
 */
export function sqlitePorts(options: SqlitePortsOptions): SqlitePorts {
  const db = openSqliteDatabase(join(options.dataDir, SQLITE_FILE_NAME));
  const metrics = new SqliteMetrics(db.sql);
  const clock = options.clock ?? systemClock;
  return {
    inboxes: new SqliteInboxStore(db.sql, options.inboxes),
    pool: new SqliteRoundPool(db.sql, options.pool),
    replay: new SqliteReplaySet(db.sql, options.replay),
    keys: new SqliteKeyStore(db.sql),
    clock,
    metrics,
    rounds: options.shared ? new SqliteRoundLease(db.sql, clock) : new IntervalRoundScheduler(),
    federation: new SqliteFederationQueue(db.sql),
    path: db.path,
    async ping() {
      db.sql.all("SELECT 1 AS one");
    },
    async close() {
      metrics.close();
      db.close();
    },
  };
}
