import {
  metricSeries,
  prometheusText,
  type HistogramTotals,
  type MetricLabels,
  type MetricName,
  type Metrics,
} from "../../relay/ports/metrics.js";

/**
 * In-process aggregate metrics with a Prometheus text rendering.
 *
 * @example
 * const metrics = new MemoryMetrics();
 * metrics.count("shroud_requests_total", { kind: "deposit" });
 * metrics.render(); // 'shroud_requests_total{kind="deposit"} 1\n'
 */
export class MemoryMetrics implements Metrics {
  readonly #counters = new Map<string, number>();
  readonly #histograms = new Map<string, HistogramTotals>();

  count(name: MetricName, labels?: MetricLabels, by = 1): void {
    const key = metricSeries(name, labels);
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + by);
  }

  observe(name: MetricName, value: number, labels?: MetricLabels): void {
    const key = metricSeries(name, labels);
    const h = this.#histograms.get(key) ?? { count: 0, sum: 0 };
    h.count += 1;
    h.sum += value;
    this.#histograms.set(key, h);
  }

  /** Current value of a counter series. */
  counter(name: MetricName, labels?: MetricLabels): number {
    return this.#counters.get(metricSeries(name, labels)) ?? 0;
  }

  render(): string {
    return prometheusText(this.#counters, this.#histograms);
  }
}
