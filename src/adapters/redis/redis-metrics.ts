import { MetricBuffer, type MetricDeltas } from "../../relay/metric-buffer.js";
import {
  histogramSeries,
  metricSeries,
  type MetricLabels,
  type MetricName,
  type Metrics,
} from "../../relay/ports/metrics.js";
import type { RedisClient } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";

/** How often a process adds what it counted to the shared hash. */
const FLUSH_INTERVAL_MS = 1000;

/**
 * Aggregate metrics summed over every relay instance in one Redis hash. Each process counts in
 * memory and adds its counts to the hash once a second and on `flush()`: one write per series a
 * second, not one per request (the hash is one cluster slot that every request would otherwise
 * write to). A metric never fails or slows a request; counts a failed write took wait for the
 * next, and a killed process loses at most its last second of counts.
 *
 * @example const metrics = new RedisMetrics(redis, new RedisKeys());
 */
export class RedisMetrics implements Metrics {
  readonly #buffer = new MetricBuffer();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  #schedule(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, FLUSH_INTERVAL_MS);
    this.#timer.unref();
  }

  count(name: MetricName, labels?: MetricLabels, by = 1): void {
    this.#buffer.count(name, labels, by);
    this.#schedule();
  }

  observe(name: MetricName, value: number, labels?: MetricLabels): void {
    this.#buffer.observe(name, value, labels);
    this.#schedule();
  }

  async #write(deltas: MetricDeltas): Promise<void> {
    const key = this.keys.metrics;
    try {
      await Promise.all([
        ...deltas.counters.map(([series, by]) => this.redis.hincrby(key, series, by)),
        ...deltas.histograms.flatMap(([series, count, sum]) => {
          const names = histogramSeries(series);
          return [
            this.redis.hincrby(key, names.count, count),
            this.redis.hincrbyfloat(key, names.sum, sum),
          ];
        }),
      ]);
    } catch {
      // Kept for the write after the next count. (A write that failed after some fields were
      // added adds those again: an overcount of one second's counts, when Redis fails mid-write.)
      this.#buffer.putBack(deltas);
    }
  }

  /** Resolves once everything counted so far has reached Redis (or failed and been kept). */
  async flush(): Promise<void> {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const deltas = this.#buffer.empty ? undefined : this.#buffer.take();
    // One write at a time, in order, so a flush waits for the writes before it.
    this.#writing = this.#writing.then(() => (deltas ? this.#write(deltas) : undefined));
    await this.#writing;
  }

  /** Current value of a series (summed over instances; this process's counts flushed first). */
  async counter(name: MetricName, labels?: MetricLabels): Promise<number> {
    await this.flush();
    return Number((await this.redis.hget(this.keys.metrics, metricSeries(name, labels))) ?? 0);
  }

  /** Prometheus text of every series (this process's counts flushed first). */
  async render(): Promise<string> {
    await this.flush();
    const all = await this.redis.hgetall(this.keys.metrics);
    return Object.keys(all)
      .sort()
      .map((k) => `${k} ${all[k]}\n`)
      .join("");
  }
}
