/**
 * The reference consumer's Prometheus registry (prom-client). Every series carries `topic` and
 * `group`, so several groups or topics can share a Prometheus; lag is per partition.
 */
import { Counter, Gauge, Registry } from "prom-client";
import { collectProcessMetrics } from "../metrics/process_metrics.ts";
import type { PartitionLag } from "./lag.ts";

/** Metric names, one place for the code, the tests and monitoring/. */
export const CONSUMER_METRIC_NAMES = {
  lag: "payment_consumer_lag",
  messages: "payment_consumer_messages_total",
  duplicates: "payment_consumer_duplicates_dropped_total",
  lastProcessed: "payment_consumer_last_processed_timestamp_seconds",
  assigned: "payment_consumer_assigned_partitions",
  lagRefreshErrors: "payment_consumer_lag_refresh_errors_total",
} as const;

/** The consumer's metrics, bound to one topic and group. */
export interface ConsumerMetrics {
  readonly registry: Registry;
  /** Counts one record read from Kafka, duplicate or not. */
  consumed(partition: number): void;
  /** Counts one record dropped because its event id was already processed. */
  duplicate(partition: number): void;
  /** Stamps the moment a record was processed (epoch ms). */
  processed(atMs: number): void;
  /**
   * Replaces the lag series with `lags` (partitions no longer in the topic disappear) and starts
   * the per-partition counters of new partitions at 0.
   */
  setLag(lags: readonly PartitionLag[]): void;
  /** Counts a failed lag refresh (the lag series keep their last values). */
  lagRefreshFailed(): void;
  /** The Prometheus text exposition. */
  render(): Promise<string>;
}

/** Options of `createConsumerMetrics`. */
export interface ConsumerMetricsOptions {
  topic: string;
  group: string;
  /** Read at scrape time: the partitions this member holds. */
  assignedPartitions?: () => number;
  /** process_* and nodejs_* series (default true). */
  defaultMetrics?: boolean;
}

/** Creates the registry of one consumer (no module-level registry: tests make as many as they like). */
export function createConsumerMetrics(opts: ConsumerMetricsOptions): ConsumerMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectProcessMetrics(registry);
  const { topic, group } = opts;
  const lag = new Gauge({
    name: CONSUMER_METRIC_NAMES.lag,
    help:
      "Records of the partition the group has not committed yet (high watermark minus committed offset), refreshed every CONSUMER_LAG_REFRESH_MS",
    labelNames: ["topic", "partition", "group"],
    registers: [registry],
  });
  const messages = new Counter({
    name: CONSUMER_METRIC_NAMES.messages,
    help: "Records read from the topic by this member, duplicates included",
    labelNames: ["topic", "partition", "group"],
    registers: [registry],
  });
  const duplicates = new Counter({
    name: CONSUMER_METRIC_NAMES.duplicates,
    help: "Records dropped because their event id was seen within the dedupe window",
    labelNames: ["topic", "partition", "group"],
    registers: [registry],
  });
  const lastProcessed = new Gauge({
    name: CONSUMER_METRIC_NAMES.lastProcessed,
    help: "Unix time at which this member last processed a record (0 before the first)",
    labelNames: ["topic", "group"],
    registers: [registry],
  });
  lastProcessed.set({ topic, group }, 0);
  new Gauge({
    name: CONSUMER_METRIC_NAMES.assigned,
    help: "Partitions of the topic assigned to this member",
    labelNames: ["topic", "group"],
    registers: [registry],
    collect() {
      if (opts.assignedPartitions) this.set({ topic, group }, opts.assignedPartitions());
    },
  });
  const refreshErrors = new Counter({
    name: CONSUMER_METRIC_NAMES.lagRefreshErrors,
    help: "Lag refreshes that failed (Kafka unreachable); the lag series keep their last values",
    labelNames: ["topic", "group"],
    registers: [registry],
  });
  refreshErrors.inc({ topic, group }, 0);

  const labels = (partition: number) => ({ topic, partition: String(partition), group });
  return {
    registry,
    consumed: (partition) => messages.inc(labels(partition)),
    duplicate: (partition) => duplicates.inc(labels(partition)),
    processed: (atMs) => lastProcessed.set({ topic, group }, atMs / 1000),
    setLag(lags) {
      lag.reset();
      for (const p of lags) {
        const l = labels(p.partition);
        lag.set(l, p.lag);
        // Every partition gets its counters at 0, so rate() reads 0 instead of "no data" for a
        // partition this member never read or never saw a duplicate in.
        messages.inc(l, 0);
        duplicates.inc(l, 0);
      }
    },
    lagRefreshFailed: () => refreshErrors.inc({ topic, group }),
    render: () => registry.metrics(),
  };
}
