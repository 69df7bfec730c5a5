import {
  metricSeries,
  type MetricLabels,
  type MetricName,
  type Metrics,
} from "../../../relay/ports/metrics.js";
import type { MetricDeltas, MetricsObject } from "../objects/metrics-object.js";

/** Least time between two flushes of one isolate after requests (see flushSoon). */
const FLUSH_EVERY_MS = 1000;

/**
 * Metrics on Workers: counts are buffered in the isolate (the port is synchronous) and added to
 * the relay's metrics object by `flush`: after each alarm, and after requests and queue batches
 * at most once a second (`flushSoon`, in waitUntil, off the response's path).
 *
 * @example
 * metrics.count(MetricName.requests, { kind: "fetch", status: "ok" });
 * ctx.waitUntil(metrics.flushSoon());
 */
export class DurableMetrics implements Metrics {
  #counters = new Map<string, number>();
  #histograms = new Map<string, { count: number; sum: number }>();
  #flushedAt = 0;

  constructor(private readonly object: () => DurableObjectStub<MetricsObject>) {}

  count(name: MetricName, labels?: MetricLabels, by = 1): void {
    const series = metricSeries(name, labels);
    this.#counters.set(series, (this.#counters.get(series) ?? 0) + by);
  }

  observe(name: MetricName, value: number, labels?: MetricLabels): void {
    const series = metricSeries(name, labels);
    const h = this.#histograms.get(series) ?? { count: 0, sum: 0 };
    h.count += 1;
    h.sum += value;
    this.#histograms.set(series, h);
  }

  /**
   * Flushes unless this isolate flushed less than FLUSH_EVERY_MS ago: one round trip to the
   * metrics object per isolate and second, not per request. What an isolate evicted meanwhile
   * had not flushed is lost (at most that second's counts).
   */
  async flushSoon(): Promise<void> {
    if (Date.now() - this.#flushedAt < FLUSH_EVERY_MS) return;
    await this.flush();
  }

  /** Adds what this isolate counted since the last flush; on failure it is kept for the next. */
  async flush(): Promise<void> {
    this.#flushedAt = Date.now();
    if (this.#counters.size === 0 && this.#histograms.size === 0) return;
    const counters = this.#counters;
    const histograms = this.#histograms;
    this.#counters = new Map();
    this.#histograms = new Map();
    const deltas: MetricDeltas = {
      counters: [...counters],
      histograms: [...histograms].map(([s, h]) => [s, h.count, h.sum]),
    };
    try {
      await this.object().add(deltas);
    } catch (error) {
      for (const [s, by] of counters) this.#counters.set(s, (this.#counters.get(s) ?? 0) + by);
      for (const [s, h] of histograms) {
        const now = this.#histograms.get(s) ?? { count: 0, sum: 0 };
        this.#histograms.set(s, { count: now.count + h.count, sum: now.sum + h.sum });
      }
      throw error;
    }
  }

  /** Prometheus text of the relay's metrics (after flushing this isolate's). */
  async render(): Promise<string> {
    await this.flush();
    return this.object().render();
  }
}
