/**
 * A relay's aggregate metrics on Workers: counters and histogram sums by series name, summed
 * from every isolate's buffered deltas, in the tables and through the calls it shares with the
 * SQLite store (src/adapters/sql/sql-metrics.ts).
 */
import { DurableObject } from "cloudflare:workers";
import type { MetricDeltas } from "../../../relay/metric-buffer.js";
import { addMetricDeltas, createMetricsTables, renderMetrics } from "../../sql/sql-metrics.js";
import type { SqlDriver } from "../../sql/sql-driver.js";
import { durableSql } from "./durable-sql-driver.js";
import { migrateOnStart, type Migration } from "./schema-migrations.js";

/** The metrics object's tables, oldest version first (see schema-migrations.ts). */
export const METRICS_SCHEMA: readonly Migration[] = [{ version: 1, up: createMetricsTables }];

export class MetricsObject extends DurableObject<object> {
  readonly #sql: SqlDriver;

  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.#sql = durableSql(ctx.storage);
    migrateOnStart(ctx, "metrics", METRICS_SCHEMA);
  }

  add(deltas: MetricDeltas): void {
    addMetricDeltas(this.#sql, deltas);
  }

  /** Prometheus text exposition, as MemoryMetrics.render writes it. */
  render(): string {
    return renderMetrics(this.#sql);
  }
}
