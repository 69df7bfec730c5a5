/**
 * Aggregate metrics on SQLite, as the Durable Object metrics object and the SQLite store both
 * keep them: counters and histogram sums by series name (series come from fixed label sets, see
 * the metrics port: no inbox id, address, single size or time). Writers buffer deltas in memory
 * and add them in one call now and then, so a request never waits on a metrics write.
 */
import { prometheusText, type HistogramTotals } from "../../relay/ports/metrics.js";
import type { MetricDeltas } from "../../relay/metric-buffer.js";
import type { SqlDriver } from "./sql-driver.js";

/**
 * Creates the metrics tables if missing.
 *
 * @example createMetricsTables(sql); // inside a migration
 */
export function createMetricsTables(sql: SqlDriver): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS counters (series TEXT PRIMARY KEY, value REAL NOT NULL);
    CREATE TABLE IF NOT EXISTS histograms (
      series TEXT PRIMARY KEY, count REAL NOT NULL, sum REAL NOT NULL
    );
  `);
}

/**
 * Adds `deltas` to the stored totals (the caller makes it one transaction where it can).
 *
 * @example addMetricDeltas(sql, { counters: [["shroud_requests_total", 2]], histograms: [] });
 */
export function addMetricDeltas(sql: SqlDriver, deltas: MetricDeltas): void {
  for (const [series, by] of deltas.counters) {
    sql.run(
      "INSERT INTO counters (series, value) VALUES (?, ?) ON CONFLICT (series) DO UPDATE SET value = value + excluded.value",
      series,
      by,
    );
  }
  for (const [series, count, sum] of deltas.histograms) {
    sql.run(
      "INSERT INTO histograms (series, count, sum) VALUES (?, ?, ?) ON CONFLICT (series) DO UPDATE SET count = count + excluded.count, sum = sum + excluded.sum",
      series,
      count,
      sum,
    );
  }
}

/**
 * Prometheus text of the stored totals, plus `pending` deltas not yet added.
 *
 * @example renderMetrics(sql); // "shroud_requests_total 3\n"
 */
export function renderMetrics(sql: SqlDriver, pending?: MetricDeltas): string {
  const counters = new Map<string, number>();
  for (const r of sql.all<{ series: string; value: number }>(
    "SELECT series, value FROM counters",
  )) {
    counters.set(r.series, r.value);
  }
  const histograms = new Map<string, HistogramTotals>();
  for (const r of sql.all<{ series: string; count: number; sum: number }>(
    "SELECT series, count, sum FROM histograms",
  )) {
    histograms.set(r.series, { count: r.count, sum: r.sum });
  }
  for (const [series, by] of pending?.counters ?? []) {
    counters.set(series, (counters.get(series) ?? 0) + by);
  }
  for (const [series, count, sum] of pending?.histograms ?? []) {
    const h = histograms.get(series) ?? { count: 0, sum: 0 };
    histograms.set(series, { count: h.count + count, sum: h.sum + sum });
  }
  return prometheusText(counters, histograms);
}
