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
} as const;
export type MetricName = (typeof MetricName)[keyof typeof MetricName];

export type MetricLabels = Readonly<Record<string, string>>;

export interface Metrics {
  count(name: MetricName, labels?: MetricLabels, by?: number): void;
  observe(name: MetricName, value: number, labels?: MetricLabels): void;
}
