import { MetricBuffer } from "../../relay/metric-buffer.js";
import {
  metricSeries,
  type MetricLabels,
  type MetricName,
  type Metrics,
} from "../../relay/ports/metrics.js";

/**
 * In-process aggregate metrics with a Prometheus text rendering: a metric buffer never emptied.
 *
 * @example
 * const metrics = new MemoryMetrics();
 * metrics.count("shroud_requests_total", { kind: "deposit" });
 * metrics.render(); // 'shroud_requests_total{kind="deposit"} 1\n'
 */
export class MemoryMetrics implements Metrics {
  readonly #buffer = new MetricBuffer();

  count(name: MetricName, labels?: MetricLabels, by = 1): void {
    this.#buffer.count(name, labels, by);
  }

  observe(name: MetricName, value: number, labels?: MetricLabels): void {
    this.#buffer.observe(name, value, labels);
  }

  /** Current value of a counter series. */
  counter(name: MetricName, labels?: MetricLabels): number {
    return this.#buffer.pending(metricSeries(name, labels));
  }

  render(): string {
    return this.#buffer.render();
  }
}
