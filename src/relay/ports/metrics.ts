/**
 * Metrics port: aggregate counters and histograms only. Label values must come from small fixed
 * sets (request kind, status name); never an inbox id, address, size of one message or time.
 */
export const MetricName = {
  requests: "shroud_requests_total",
  envelopeErrors: "shroud_envelope_errors_total",
  /** Rounds that delivered items, counted by the closer that appended them. */
  roundsClosed: "shroud_rounds_closed_total",
  /** Scheduled round closes run (including empty rounds), across all instances. */
  roundRuns: "shroud_round_runs_total",
  roundSize: "shroud_round_size",
  itemsDelivered: "shroud_items_delivered_total",
  /**
   * Per peer (label `peer`: a configured peer's origin, or "other" for every other relay, so
   * clients naming relays cannot add series): federation batches built and queued.
   */
  federationBatchesSent: "shroud_federation_batches_sent_total",
  /** Per peer: batches the peer acknowledged. */
  federationBatchesDelivered: "shroud_federation_batches_delivered_total",
  /** Per peer: failed delivery attempts (each is retried until the attempts run out). */
  federationDeliveryFailures: "shroud_federation_delivery_failures_total",
  /** Per peer: batches moved to the dead-letter queue (counted once, where the last attempt ran). */
  federationDeadLettered: "shroud_federation_dead_lettered_total",
  /** Per peer: inbound batches accepted. */
  federationBatchesReceived: "shroud_federation_batches_received_total",
  /** Per peer: proxied requests whose next hop failed or missed the deadline (`unavailable`). */
  federationProxyFailures: "shroud_federation_proxy_failures_total",
  /**
   * Per peer: rounds after which a link still held envelopes its batches had no room for (they
   * wait for later rounds). Rising steadily: raise `batchesPerRound`.
   */
  federationBacklogRounds: "shroud_federation_backlog_rounds_total",
  /** Dead letters deleted, oldest first, to stay within maxDeadLetters. */
  federationDeadLettersDropped: "shroud_federation_dead_letters_dropped_total",
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

/** Labels of one series, e.g. `{ kind: "fetch" }`; never an address, inbox id or size. */
export type MetricLabels = Readonly<Record<string, string>>;

/**
 * The name of one series: `name{label="value",...}` with labels sorted, as Prometheus writes it.
 *
 * @example metricSeries("shroud_requests_total", { kind: "fetch" }) // 'shroud_requests_total{kind="fetch"}'
 */
export function metricSeries(name: string, labels?: MetricLabels): string {
  if (!labels) return name;
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${labels[k]}"`);
  return `${name}{${parts.join(",")}}`;
}

/**
 * The two series a histogram is kept as, as Prometheus names them: `name_count{...}` and
 * `name_sum{...}`.
 *
 * @example histogramSeries('shroud_round_size{x="y"}').sum // 'shroud_round_size_sum{x="y"}'
 */
export function histogramSeries(series: string): { count: string; sum: string } {
  const brace = series.indexOf("{");
  const name = brace < 0 ? series : series.slice(0, brace);
  const labels = brace < 0 ? "" : series.slice(brace);
  return { count: `${name}_count${labels}`, sum: `${name}_sum${labels}` };
}

/** A histogram's aggregate: how many values were observed and their sum. */
export interface HistogramTotals {
  count: number;
  sum: number;
}

/**
 * Prometheus text exposition of counters, then histograms, each sorted by series.
 *
 * @example prometheusText([["shroud_requests_total", 3]], []) // "shroud_requests_total 3\n"
 */
export function prometheusText(
  counters: Iterable<[string, number]>,
  histograms: Iterable<[string, HistogramTotals]>,
): string {
  const bySeries = <T>(a: [string, T], b: [string, T]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
  const lines: string[] = [];
  for (const [series, value] of [...counters].sort(bySeries)) lines.push(`${series} ${value}`);
  for (const [series, h] of [...histograms].sort(bySeries)) {
    const names = histogramSeries(series);
    lines.push(`${names.count} ${h.count}`, `${names.sum} ${h.sum}`);
  }
  return lines.join("\n") + (lines.length ? "\n" : "");
}

/** Metrics port: aggregate counters and histograms only. */
export interface Metrics {
  /** Adds `by` (default 1) to a counter. */
  count(name: MetricName, labels?: MetricLabels, by?: number): void;
  /** Records one value in a histogram. */
  observe(name: MetricName, value: number, labels?: MetricLabels): void;
}
