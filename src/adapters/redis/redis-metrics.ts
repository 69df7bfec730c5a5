import {
  histogramSeries,
  metricSeries,
  type MetricLabels,
  type MetricName,
  type Metrics,
} from "../../relay/ports/metrics.js";
import type { RedisKeys } from "./redis-keys.js";
import type { RedisClient } from "./redis-connection.js";

/**
 * Aggregate metrics summed over every relay instance in one Redis hash. Updates are
 * fire-and-forget: a metric must never fail or slow a request; `flush()` waits for the ones in
 * flight (before the connection closes).
 *
 * @example const metrics = new RedisMetrics(redis, new RedisKeys());
 */
export class RedisMetrics implements Metrics {
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  #track(update: Promise<unknown>): void {
    const settled = update.catch(() => undefined).finally(() => this.#inFlight.delete(settled));
    this.#inFlight.add(settled);
  }

  count(name: MetricName, labels?: MetricLabels, by = 1): void {
    this.#track(this.redis.hincrby(this.keys.metrics, metricSeries(name, labels), by));
  }

  observe(name: MetricName, value: number, labels?: MetricLabels): void {
    const series = histogramSeries(metricSeries(name, labels));
    this.#track(this.redis.hincrby(this.keys.metrics, series.count, 1));
    this.#track(this.redis.hincrbyfloat(this.keys.metrics, series.sum, value));
  }

  /** Resolves once every update made so far has reached Redis (or failed). */
  async flush(): Promise<void> {
    await Promise.all([...this.#inFlight]);
  }

  /** Current value of a series (summed over instances). */
  async counter(name: MetricName, labels?: MetricLabels): Promise<number> {
    return Number((await this.redis.hget(this.keys.metrics, metricSeries(name, labels))) ?? 0);
  }

  /** Prometheus text of every series. */
  async render(): Promise<string> {
    const all = await this.redis.hgetall(this.keys.metrics);
    return Object.keys(all)
      .sort()
      .map((k) => `${k} ${all[k]}\n`)
      .join("");
  }
}
