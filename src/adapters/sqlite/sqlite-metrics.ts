import { MetricBuffer } from "../../relay/metric-buffer.js";
import {
  metricSeries,
  type MetricLabels,
  type MetricName,
  type Metrics,
} from "../../relay/ports/metrics.js";
import type { SqlDriver } from "../sql/sql-driver.js";
import { addMetricDeltas, renderMetrics } from "../sql/sql-metrics.js";

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
  readonly #buffer = new MetricBuffer();
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(private readonly sql: SqlDriver) {
    this.#timer = setInterval(() => this.#write(), FLUSH_INTERVAL_MS);
    this.#timer.unref();
  }

  count(name: MetricName, labels?: MetricLabels, by = 1): void {
    this.#buffer.count(name, labels, by);
  }

  observe(name: MetricName, value: number, labels?: MetricLabels): void {
    this.#buffer.observe(name, value, labels);
  }

  #write(): void {
    if (this.#buffer.empty) return;
    const deltas = this.#buffer.peek();
    try {
      this.sql.transaction(() => addMetricDeltas(this.sql, deltas));
    } catch {
      return; // kept for the next write: a metric never fails a request or the process
    }
    this.#buffer.take();
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
    return stored + this.#buffer.pending(series);
  }

  /** Prometheus text of every series, buffered deltas included. */
  render(): string {
    return renderMetrics(this.sql, this.#buffer.peek());
  }
}
