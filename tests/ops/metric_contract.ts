/**
 * The metric contract between the service's `/metrics` and everything in `monitoring/`.
 * This is the one list the ops tests read; when a name changes in the service, change it here.
 */

/** Prometheus metric type as exposed in `# TYPE` lines. */
export type MetricType = "counter" | "gauge" | "histogram";

/** One metric family the service (or a sidecar exporter) must expose. */
export interface MetricSpec {
  /** Family name as in `# TYPE <name>` (histograms without `_bucket/_sum/_count`). */
  name: string;
  type: MetricType;
  /** Labels every series of the family carries (besides job/instance added by Prometheus). */
  labels: readonly string[];
  /**
   * Who exposes it: the service, the reference consumer, the settlement process, kafka-exporter,
   * or Prometheus itself.
   */
  source:
    | "payment-ingest"
    | "payment-consumer"
    | "payment-settlement"
    | "kafka-exporter"
    | "prometheus";
}

/** Breaker states as they appear in the `state` label (lower case). */
export const BREAKER_STATES = [
  "closed",
  "open",
  "half_open",
  "disabled",
  "metrics_only",
  "forced_open",
  "forced_half_open",
] as const;

/** Name of the breaker that wraps Kafka publishing, as the dashboards and alerts spell it (the
 * contract's own copy, so a rename in src/kafka/publisher.ts fails these tests). */
export const PUBLISH_BREAKER = "kafka-publisher";

/** Every metric family the dashboards and alerts may use. */
export const METRICS: readonly MetricSpec[] = [
  {
    name: "resilience4j_circuitbreaker_state",
    type: "gauge",
    labels: ["name", "state"],
    source: "payment-ingest",
  },
  {
    name: "resilience4j_circuitbreaker_calls_seconds",
    type: "histogram",
    labels: ["name", "kind"],
    source: "payment-ingest",
  },
  {
    name: "resilience4j_circuitbreaker_not_permitted_calls_total",
    type: "counter",
    labels: ["name", "kind"],
    source: "payment-ingest",
  },
  {
    name: "resilience4j_circuitbreaker_buffered_calls",
    type: "gauge",
    labels: ["name", "kind"],
    source: "payment-ingest",
  },
  {
    name: "resilience4j_circuitbreaker_slow_calls",
    type: "gauge",
    labels: ["name", "kind"],
    source: "payment-ingest",
  },
  {
    name: "resilience4j_circuitbreaker_slow_call_rate",
    type: "gauge",
    labels: ["name"],
    source: "payment-ingest",
  },
  {
    name: "resilience4j_circuitbreaker_failure_rate",
    type: "gauge",
    labels: ["name"],
    source: "payment-ingest",
  },
  {
    name: "circuitbreaker_transitions_total",
    type: "counter",
    labels: ["name", "from", "to"],
    source: "payment-ingest",
  },
  {
    name: "http_requests_total",
    type: "counter",
    labels: ["method", "route", "status"],
    source: "payment-ingest",
  },
  {
    name: "http_request_duration_seconds",
    type: "histogram",
    labels: ["method", "route", "status"],
    source: "payment-ingest",
  },
  { name: "outbox_pending_events", type: "gauge", labels: [], source: "payment-ingest" },
  {
    name: "outbox_oldest_pending_age_seconds",
    type: "gauge",
    labels: [],
    source: "payment-ingest",
  },
  { name: "outbox_dead_lettered_events", type: "gauge", labels: [], source: "payment-ingest" },
  { name: "outbox_published_total", type: "counter", labels: [], source: "payment-ingest" },
  { name: "outbox_accepted_total", type: "counter", labels: [], source: "payment-ingest" },
  {
    name: "outbox_recovered_total",
    type: "counter",
    labels: ["outcome"],
    source: "payment-ingest",
  },
  {
    name: "kafka_publish_duration_seconds",
    type: "histogram",
    labels: ["outcome"],
    source: "payment-ingest",
  },
  { name: "process_resident_memory_bytes", type: "gauge", labels: [], source: "payment-ingest" },
  { name: "process_cpu_seconds_total", type: "counter", labels: [], source: "payment-ingest" },
  {
    name: "payment_consumer_lag",
    type: "gauge",
    labels: ["topic", "partition", "group"],
    source: "payment-consumer",
  },
  {
    name: "payment_consumer_messages_total",
    type: "counter",
    labels: ["topic", "partition", "group"],
    source: "payment-consumer",
  },
  {
    name: "payment_consumer_duplicates_dropped_total",
    type: "counter",
    labels: ["topic", "partition", "group"],
    source: "payment-consumer",
  },
  {
    name: "payment_consumer_last_processed_timestamp_seconds",
    type: "gauge",
    labels: ["topic", "group"],
    source: "payment-consumer",
  },
  {
    name: "payment_consumer_assigned_partitions",
    type: "gauge",
    labels: ["topic", "group"],
    source: "payment-consumer",
  },
  {
    name: "payment_consumer_lag_refresh_errors_total",
    type: "counter",
    labels: ["topic", "group"],
    source: "payment-consumer",
  },
  // The settlement process (src/settlement/settlement_metrics.ts). Its process_* series are the
  // same families as the service's, listed once above.
  {
    name: "settlement_events_applied_total",
    type: "counter",
    labels: ["type"],
    source: "payment-settlement",
  },
  {
    name: "settlement_duplicates_ignored_total",
    type: "counter",
    labels: [],
    source: "payment-settlement",
  },
  {
    name: "settlement_exceptions_total",
    type: "counter",
    labels: ["rule"],
    source: "payment-settlement",
  },
  {
    name: "settlement_batch_errors_total",
    type: "counter",
    labels: [],
    source: "payment-settlement",
  },
  { name: "settlement_held_events", type: "gauge", labels: [], source: "payment-settlement" },
  { name: "settlement_lag_records", type: "gauge", labels: [], source: "payment-settlement" },
  { name: "settlement_lag_seconds", type: "gauge", labels: [], source: "payment-settlement" },
  {
    name: "settlement_reconciliation_differences",
    type: "gauge",
    labels: [],
    source: "payment-settlement",
  },
  {
    name: "settlement_last_close_timestamp_seconds",
    type: "gauge",
    labels: [],
    source: "payment-settlement",
  },
  {
    name: "settlement_last_clean_close_timestamp_seconds",
    type: "gauge",
    labels: [],
    source: "payment-settlement",
  },
  {
    name: "settlement_close_overdue_days",
    type: "gauge",
    labels: [],
    source: "payment-settlement",
  },
  {
    name: "kafka_consumergroup_lag",
    type: "gauge",
    labels: ["consumergroup", "topic", "partition"],
    source: "kafka-exporter",
  },
  { name: "up", type: "gauge", labels: [], source: "prometheus" },
];

/**
 * This repository's programs whose /metrics the live test (live_test.ts) scrapes from a process it
 * starts. payment-settlement is ours too, but the live test does not start it (it needs its ledger
 * schema in Postgres and a consumer group of its own), so live_prometheus.ts counts its names
 * among the external ones; contract_test.ts checks them against the settlement registry instead.
 */
export const OWN_SOURCES: readonly MetricSpec["source"][] = ["payment-ingest", "payment-consumer"];

/** Sample names a query may use for a family: histograms add `_bucket`, `_sum` and `_count`. */
export function sampleNames(spec: MetricSpec): string[] {
  if (spec.type !== "histogram") return [spec.name];
  return [spec.name, `${spec.name}_bucket`, `${spec.name}_sum`, `${spec.name}_count`];
}

/** Every sample name any dashboard or alert may reference. */
export function knownSampleNames(): Set<string> {
  return new Set(METRICS.flatMap(sampleNames));
}
