/**
 * Metrics port: aggregate counters and histograms only. Label values must come from small fixed
 * sets (request kind, status name); never an inbox id, address, size of one message or time.
 */
export const MetricName = {
  requests: "shroud_requests_total",
  envelopeErrors: "shroud_envelope_errors_total",
  roundsClosed: "shroud_rounds_closed_total",
  /** Scheduled round closes run (including empty rounds), across all instances. */
  roundRuns: "shroud_round_runs_total",
  roundSize: "shroud_round_size",
  itemsDelivered: "shroud_items_delivered_total",
  /** Per peer (label `peer`, a relay origin): federation batches built and queued. */
  federationBatchesSent: "shroud_federation_batches_sent_total",
  /** Per peer: batches the peer acknowledged. */
  federationBatchesDelivered: "shroud_federation_batches_delivered_total",
  /** Per peer: failed delivery attempts (each is retried until the attempts run out). */
  federationDeliveryFailures: "shroud_federation_delivery_failures_total",
  /** Per peer: batches moved to the dead-letter queue (counted once, where the last attempt ran). */
  federationDeadLettered: "shroud_federation_dead_lettered_total",
  /** Per peer: inbound batches accepted. */
  federationBatchesReceived: "shroud_federation_batches_received_total",
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

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

export interface Metrics {
  count(name: MetricName, labels?: MetricLabels, by?: number): void;
  observe(name: MetricName, value: number, labels?: MetricLabels): void;
}
