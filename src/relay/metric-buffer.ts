import {
  metricSeries,
  prometheusText,
  type HistogramTotals,
  type MetricLabels,
  type MetricName,
} from "./ports/metrics.js";

/** What a metric buffer held: counter deltas and histogram (count, sum) deltas by series. */
export interface MetricDeltas {
  counters: [series: string, by: number][];
  histograms: [series: string, count: number, sum: number][];
}

/**
 * Counts kept in a process until a backend adds them in one go, so a metric costs no storage
 * write per request (on Redis that would put every request's write on one slot). `take` empties
 * the buffer; `putBack` returns what a failed write took, to go with the next.
 *
 * @example
 * buffer.count(MetricName.requests, { kind: "fetch", status: "ok" });
 * const deltas = buffer.take();
 */
export class MetricBuffer {
  #counters = new Map<string, number>();
  #histograms = new Map<string, HistogramTotals>();

  get empty(): boolean {
    return this.#counters.size === 0 && this.#histograms.size === 0;
  }

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

  /** What the buffer holds, left in it. */
  peek(): MetricDeltas {
    return {
      counters: [...this.#counters],
      histograms: [...this.#histograms].map(([s, h]) => [s, h.count, h.sum]),
    };
  }

  /** The buffered delta of one counter series. */
  pending(series: string): number {
    return this.#counters.get(series) ?? 0;
  }

  /** Prometheus text of what the buffer holds. */
  render(): string {
    return prometheusText(this.#counters, this.#histograms);
  }

  /** What the buffer holds, taken out of it. */
  take(): MetricDeltas {
    const deltas = this.peek();
    this.#counters = new Map();
    this.#histograms = new Map();
    return deltas;
  }

  putBack(deltas: MetricDeltas): void {
    for (const [s, by] of deltas.counters) {
      this.#counters.set(s, (this.#counters.get(s) ?? 0) + by);
    }
    for (const [s, count, sum] of deltas.histograms) {
      const now = this.#histograms.get(s) ?? { count: 0, sum: 0 };
      this.#histograms.set(s, { count: now.count + count, sum: now.sum + sum });
    }
  }
}
