/**
 * The round object: one per relay. It holds the open round and closed-but-unreleased rounds in
 * its SQLite storage (see SqlRoundPool), and its alarm closes the round every SHROUD_ROUND_MS:
 * it runs the relay's own round closer (page by page: shuffle, append to the inbox objects,
 * release) and federation flush (this round's signed batches onto the queue), and every
 * maintenance interval the relay's maintenance (expiry, key rotation). Closes never overlap: the
 * platform runs one alarm of an object at a time. An alarm cut short (a limit, a restart) leaves
 * the pages it had not released to the next alarm.
 */
import { DurableObject } from "cloudflare:workers";
import type { RoundEntry } from "../../../relay/ports/inbox-store.js";
import type {
  AddResult,
  EntryKey,
  PageLimit,
  QuotaCheck,
} from "../../../relay/ports/round-pool.js";
import { Relay } from "../../../relay/relay.js";
import { workersPorts, type WorkersPorts } from "../ports/workers-ports.js";
import { workerConfig, type WorkerConfig } from "../worker-config.js";
import type { WorkerEnv } from "../worker-env.js";
import type { RoundObjectApi } from "./round-object-api.js";
import { migrateOnStart, type Migration } from "./schema-migrations.js";
import { createRoundPoolTables } from "../../sql/round-pool-tables.js";
import { SqlRoundPool } from "../../sql/sql-round-pool.js";
import { durableSql } from "./durable-sql-driver.js";

/**
 * The round object's tables, oldest version first (see schema-migrations.ts): the round pool's
 * (see SqlRoundPool) and the schedule.
 */
export const ROUND_SCHEMA: readonly Migration[] = [
  {
    version: 1,
    up(sql) {
      createRoundPoolTables(sql);
      const open = sql.all<{ open: string }>("SELECT open FROM round_state")[0]!.open;
      // Entries pending under the pool's first layout (one table, '' for the open round, sorted
      // by name) move over; their empty sort key pages them by (inbox, message id).
      sql.exec(`
        CREATE TABLE IF NOT EXISTS entries (
          inbox BLOB NOT NULL,
          message BLOB NOT NULL,
          item BLOB NOT NULL,
          round TEXT NOT NULL DEFAULT '',
          PRIMARY KEY (inbox, message)
        ) WITHOUT ROWID;
      `);
      sql.run(
        `INSERT OR IGNORE INTO round_entries (inbox, message, item, round, sort)
         SELECT inbox, message, item, CASE round WHEN '' THEN ? ELSE round END, X'' FROM entries`,
        open,
      );
      sql.exec("DROP TABLE entries");
      sql.exec(
        "CREATE TABLE IF NOT EXISTS schedule (one INTEGER PRIMARY KEY CHECK (one = 1), instance TEXT NOT NULL)",
      );
    },
  },
];

export class RoundObject extends DurableObject<WorkerEnv> implements RoundObjectApi {
  readonly #pool: SqlRoundPool;
  #relay: Promise<{ relay: Relay; ports: WorkersPorts }> | undefined;
  #lastMaintenance = 0;

  constructor(ctx: DurableObjectState, env: WorkerEnv) {
    super(ctx, env);
    this.#pool = new SqlRoundPool(durableSql(ctx.storage));
    migrateOnStart(ctx, "round", ROUND_SCHEMA);
  }

  add(entry: RoundEntry, quota: QuotaCheck): AddResult {
    return this.#pool.addNow(entry, quota);
  }

  close(): string | undefined {
    return this.#pool.closeNow();
  }

  unreleased(): string[] {
    return this.#pool.unreleasedNow();
  }

  page(roundId: string, limit: PageLimit): RoundEntry[] {
    return this.#pool.pageNow(roundId, limit);
  }

  release(roundId: string, entries: EntryKey[]): boolean {
    return this.#pool.releaseNow(roundId, entries);
  }

  /** Entries waiting in the open round. */
  pending(): number {
    return this.#pool.pending();
  }

  #instance(): string | undefined {
    return this.ctx.storage.sql
      .exec<{ instance: string }>("SELECT instance FROM schedule")
      .toArray()[0]?.instance;
  }

  /** Starts closing rounds for `instance` every `intervalMs`, unless already started. */
  async start(instance: string, intervalMs: number): Promise<void> {
    if (this.#instance() === undefined) {
      this.ctx.storage.sql.exec("INSERT INTO schedule (one, instance) VALUES (1, ?)", instance);
    }
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Date.now() + intervalMs);
    }
  }

  /** Stops the schedule; the open round stays until the next start. */
  async stop(): Promise<void> {
    this.ctx.storage.sql.exec("DELETE FROM schedule");
    await this.ctx.storage.deleteAlarm();
  }

  /** The Worker's settings, read once per object (a new deployment restarts the objects). */
  #config: WorkerConfig | undefined;

  #relayFor(
    config: WorkerConfig,
    instance: string,
  ): Promise<{ relay: Relay; ports: WorkersPorts }> {
    this.#relay ??= (async () => {
      const ports = workersPorts(this.env, { ...config, instance }, { pool: this.#pool });
      return { relay: await Relay.open(config.relay, ports), ports };
    })();
    this.#relay.catch(() => (this.#relay = undefined));
    return this.#relay;
  }

  override async alarm(): Promise<void> {
    const instance = this.#instance();
    if (instance === undefined) return;
    let config: WorkerConfig;
    try {
      config = this.#config ??= workerConfig(this.env);
    } catch (error) {
      // Rounds stop until a fixed deployment opens the relay again (which restarts them).
      console.error(`shroud: rounds stopped (${error instanceof Error ? error.message : "error"})`);
      return;
    }
    let ports: WorkersPorts | undefined;
    try {
      const opened = await this.#relayFor(config, instance);
      ports = opened.ports;
      await logged("round close", () => opened.relay.closeRound());
      const now = Date.now();
      if (now - this.#lastMaintenance >= config.relay.maintenanceIntervalMs) {
        this.#lastMaintenance = now;
        await logged("maintenance", () => opened.relay.maintain());
      }
    } catch (error) {
      console.error(
        `shroud: relay could not open (${error instanceof Error ? error.name : "error"})`,
      );
    } finally {
      await ports?.metrics.flush().catch(() => undefined);
      if (this.#instance() !== undefined) {
        await this.ctx.storage.setAlarm(Date.now() + (config.relay.roundIntervalMs || 1000));
      }
    }
  }
}

/** Runs one step of the alarm; a failure is logged bare (no detail) and does not stop the next. */
async function logged(step: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    console.error(`shroud: ${step} failed (${error instanceof Error ? error.name : "error"})`);
  }
}
