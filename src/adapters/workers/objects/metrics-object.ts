/**
 * A relay's aggregate metrics on Workers: counters and histogram sums by series name, summed
 * from every isolate's buffered deltas. Series names come from fixed label sets (see the
 * metrics port): no inbox id, address, single size or time reaches this object.
 */
import { DurableObject } from "cloudflare:workers";
import { prometheusText, type HistogramTotals } from "../../../relay/ports/metrics.js";
import { migrateOnStart, type Migration } from "./schema-migrations.js";

/** What one isolate adds: counter deltas and histogram (count, sum) deltas by series. */
export interface MetricDeltas {
  counters: [series: string, by: number][];
  histograms: [series: string, count: number, sum: number][];
}

/** The metrics object's tables, oldest version first (see schema-migrations.ts). */
export const METRICS_SCHEMA: readonly Migration[] = [
  {
    version: 1,
    up: (sql) =>
      sql.exec(`
        CREATE TABLE IF NOT EXISTS counters (series TEXT PRIMARY KEY, value REAL NOT NULL);
        CREATE TABLE IF NOT EXISTS histograms (
          series TEXT PRIMARY KEY, count REAL NOT NULL, sum REAL NOT NULL
        );
      `),
  },
];

export class MetricsObject extends DurableObject<object> {
  readonly #sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.#sql = ctx.storage.sql;
    migrateOnStart(ctx, "metrics", METRICS_SCHEMA);
  }

  add(deltas: MetricDeltas): void {
    for (const [series, by] of deltas.counters) {
      this.#sql.exec(
        "INSERT INTO counters (series, value) VALUES (?, ?) ON CONFLICT (series) DO UPDATE SET value = value + excluded.value",
        series,
        by,
      );
    }
    for (const [series, count, sum] of deltas.histograms) {
      this.#sql.exec(
        "INSERT INTO histograms (series, count, sum) VALUES (?, ?, ?) ON CONFLICT (series) DO UPDATE SET count = count + excluded.count, sum = sum + excluded.sum",
        series,
        count,
        sum,
      );
    }
  }

  /** Prometheus text exposition, as MemoryMetrics.render writes it. */
  render(): string {
    const counters = this.#sql
      .exec<{ series: string; value: number }>("SELECT series, value FROM counters")
      .toArray()
      .map((r): [string, number] => [r.series, r.value]);
    const histograms = this.#sql
      .exec<{ series: string; count: number; sum: number }>(
        "SELECT series, count, sum FROM histograms",
      )
      .toArray()
      .map((r): [string, HistogramTotals] => [r.series, { count: r.count, sum: r.sum }]);
    return prometheusText(counters, histograms);
  }
}
