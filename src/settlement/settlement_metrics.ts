/**
 * The settlement process's Prometheus registry (prom-client): what was applied, held, refused and
 * ignored, how far behind the topic the ledger is, and the state of closes and reconciliation.
 */
import { Counter, Gauge, Registry } from "prom-client";
import { collectProcessMetrics } from "../metrics/process_metrics.ts";
import { RULES } from "./lifecycle.ts";

/** Metric names, one place for the code, the tests and monitoring/. */
export const SETTLEMENT_METRIC_NAMES = {
  applied: "settlement_events_applied_total",
  duplicates: "settlement_duplicates_ignored_total",
  exceptions: "settlement_exceptions_total",
  held: "settlement_held_events",
  lagRecords: "settlement_lag_records",
  lagSeconds: "settlement_lag_seconds",
  differences: "settlement_reconciliation_differences",
  lastClose: "settlement_last_close_timestamp_seconds",
  lastCleanClose: "settlement_last_clean_close_timestamp_seconds",
  overdue: "settlement_close_overdue_days",
  batchErrors: "settlement_batch_errors_total",
} as const;

/** The settlement metrics. */
export interface SettlementMetrics {
  readonly registry: Registry;
  applied(type: string, n: number): void;
  duplicates(n: number): void;
  exception(rule: string): void;
  batchFailed(): void;
  setHeld(n: number): void;
  setLag(records: number, seconds: number): void;
  /** Records a close: when, and how many differences its reconciliation found. */
  closed(atMs: number, differences: number): void;
  /** The close gauges as the ledger records them (differences: of the last closed day). */
  setCloses(c: { lastCloseS: number; lastCleanCloseS: number; differences: number | null }): void;
  setOverdue(days: number): void;
  render(): Promise<string>;
}

/** Creates the registry (no module-level registry: tests make as many as they like). */
export function createSettlementMetrics(
  opts: { defaultMetrics?: boolean } = {},
): SettlementMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectProcessMetrics(registry);
  const n = SETTLEMENT_METRIC_NAMES;
  const applied = new Counter({
    name: n.applied,
    help: "Events applied to the ledger, by event type",
    labelNames: ["type"],
    registers: [registry],
  });
  const duplicates = new Counter({
    name: n.duplicates,
    help: "Records whose event id the ledger had already recorded (published twice), ignored",
    registers: [registry],
  });
  const exceptions = new Counter({
    name: n.exceptions,
    help: "Events recorded as exceptions instead of being applied, by the rule they broke",
    labelNames: ["rule"],
    registers: [registry],
  });
  for (const r of RULES) exceptions.inc({ rule: r }, 0);
  const batchErrors = new Counter({
    name: n.batchErrors,
    help: "Batches whose transaction failed (rolled back; Kafka delivers them again)",
    registers: [registry],
  });
  const held = new Gauge({
    name: n.held,
    help: "Events held by the ledger, waiting for an event that has not arrived",
    registers: [registry],
  });
  const lagRecords = new Gauge({
    name: n.lagRecords,
    help: "Records of the topic not yet applied to the ledger (sum over partitions)",
    registers: [registry],
  });
  const lagSeconds = new Gauge({
    name: n.lagSeconds,
    help: "Seconds since the ledger was last caught up with the topic (0 when caught up)",
    registers: [registry],
  });
  const differences = new Gauge({
    name: n.differences,
    help:
      "Events that differ between outbox, topic and ledger in the reconciliation of the last closed day (0 when clean)",
    registers: [registry],
  });
  const lastClose = new Gauge({
    name: n.lastClose,
    help: "When the last business day was closed, epoch seconds (0: never)",
    registers: [registry],
  });
  const lastCleanClose = new Gauge({
    name: n.lastCleanClose,
    help: "When a business day was last closed with a clean reconciliation, epoch seconds",
    registers: [registry],
  });
  const overdue = new Gauge({
    name: n.overdue,
    help: "Business days past their scheduled close (cut-off plus grace) and still open",
    registers: [registry],
  });
  return {
    registry,
    applied: (type, k) => applied.inc({ type }, k),
    duplicates: (k) => duplicates.inc(k),
    exception: (rule) => exceptions.inc({ rule }),
    batchFailed: () => batchErrors.inc(),
    setHeld: (k) => held.set(k),
    setLag: (records, seconds) => {
      lagRecords.set(records);
      lagSeconds.set(seconds);
    },
    closed: (atMs, diffs) => {
      lastClose.set(atMs / 1000);
      differences.set(diffs);
      if (diffs === 0) lastCleanClose.set(atMs / 1000);
    },
    setCloses: (c) => {
      lastClose.set(c.lastCloseS);
      lastCleanClose.set(c.lastCleanCloseS);
      if (c.differences !== null) differences.set(c.differences);
    },
    setOverdue: (days) => overdue.set(days),
    render: () => registry.metrics(),
  };
}
