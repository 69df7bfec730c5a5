import { MetricBuffer } from "../../../relay/metric-buffer.js";
import type { MetricLabels, MetricName, Metrics } from "../../../relay/ports/metrics.js";
import type { MetricsObject } from "../objects/metrics-object.js";

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
  readonly #buffer = new MetricBuffer();
  #flushedAt = 0;

  constructor(private readonly object: () => DurableObjectStub<MetricsObject>) {}

  count(name: MetricName, labels?: MetricLabels, by = 1): void {
    this.#buffer.count(name, labels, by);
  }

  observe(name: MetricName, value: number, labels?: MetricLabels): void {
    this.#buffer.observe(name, value, labels);
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
    if (this.#buffer.empty) return;
    const deltas = this.#buffer.take();
    try {
      await this.object().add(deltas);
    } catch (error) {
      this.#buffer.putBack(deltas);
      throw error;
    }
  }

  /** Prometheus text of the relay's metrics (after flushing this isolate's). */
  async render(): Promise<string> {
    await this.flush();
    return this.object().render();
  }
}
