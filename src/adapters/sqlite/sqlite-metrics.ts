import {
  metricSeries,
  type MetricLabels,
  type MetricName,
  type Metrics,
} from "../../relay/ports/metrics.js";
import type { SqlDriver } from "../sql/sql-driver.js";
import { addMetricDeltas, renderMetrics, type MetricDeltas } from "../sql/sql-metrics.js";

/** How often buffered deltas are written to the file. */
const FLUSH_INTERVAL_MS = 5000;

/**
 * Aggregate metrics kept in the SQLite file (`counters`, `histograms`, the Workers metrics
 * object's tables), so they carry on across restarts as on Redis and Workers. Updates are
 * buffered in memory and written together every few seconds and on `flush` (a request never
 * waits for an fsync of a metric); a crash loses at most the last few seconds of counts.
 *
 * @example const metrics = new SqliteMetrics(db.sql); metrics.count("shroud_requests_total");
 */
export class SqliteMetrics implements Metrics {
  #counters = new Map<string, number>();
  #histograms = new Map<string, { count: number; sum: number }>();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(private readonly sql: SqlDriver) {
    this.#timer = setInterval(() => this.#write(), FLUSH_INTERVAL_MS);
    this.#timer.unref();
  }

  count(name: MetricName, labels?: MetricLabels, by = 1): void {
    const series = metricSeries(name, labels);
    this.#counters.set(series, (this.#counters.get(series) ?? 0) + by);
  }

  observe(name: MetricName, value: number, labels?: MetricLabels): void {
    const series = metricSeries(name, labels);
    const h = this.#histograms.get(series) ?? { count: 0, sum: 0 };
    this.#histograms.set(series, { count: h.count + 1, sum: h.sum + value });
  }

  #pending(): MetricDeltas {
    return {
      counters: [...this.#counters],
      histograms: [...this.#histograms].map(([series, h]) => [series, h.count, h.sum]),
    };
  }

  #write(): void {
    if (this.#counters.size === 0 && this.#histograms.size === 0) return;
    const deltas = this.#pending();
    try {
      this.sql.transaction(() => addMetricDeltas(this.sql, deltas));
    } catch {
      return; // kept for the next write: a metric never fails a request or the process
    }
    this.#counters = new Map();
    this.#histograms = new Map();
  }

  /** Writes the buffered deltas now. */
  async flush(): Promise<void> {
    this.#write();
  }

  /** Writes the buffered deltas and stops the timer (before the file closes). */
  close(): void {
    clearInterval(this.#timer);
    this.#write();
  }

  /** Current value of a counter series, buffered deltas included. */
  counter(name: MetricName, labels?: MetricLabels): number {
    const series = metricSeries(name, labels);
    const stored =
      this.sql.all<{ value: number }>("SELECT value FROM counters WHERE series = ?", series)[0]
        ?.value ?? 0;
    return stored + (this.#counters.get(series) ?? 0);
  }

  /** Prometheus text of every series, buffered deltas included. */
  render(): string {
    return renderMetrics(this.sql, this.#pending());
  }
}
