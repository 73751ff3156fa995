/**
 * The Prometheus registry. Breaker series use Resilience4j's Micrometer names, so dashboards built
 * for a Java service work unchanged; the rest cover HTTP, the outbox and Kafka publishing.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { collectProcessMetrics } from "./process_metrics.ts";
import type { CircuitBreaker } from "../breaker/circuit_breaker.ts";
import { allowedTargets, BREAKER_STATES } from "../breaker/states.ts";
import type { OutboxStats } from "../outbox/repository.ts";

/** Publish outcomes as labelled on `kafka_publish_duration_seconds`. */
export type PublishOutcome = "success" | "failure";

/** The service's metrics. */
export interface Metrics {
  readonly registry: Registry;
  /** Records one HTTP request. */
  observeHttp(method: string, route: string, status: number, seconds: number): void;
  /** Records one Kafka publish (a batch of `records`). */
  observePublish(outcome: PublishOutcome, seconds: number, records: number): void;
  /** Counts events stored in the outbox. */
  accepted(count: number): void;
  /** Counts events marked published. */
  published(count: number): void;
  /** Exactly-once recovery: rows found committed (marked) and rows handed back to the relay. */
  recovered(committed: number, released: number): void;
  /** The Prometheus text exposition. */
  render(): Promise<string>;
}

/** Options of `createMetrics`. */
export interface MetricsOptions {
  breakers: readonly CircuitBreaker[];
  /** Read at scrape time; a failure leaves the outbox gauges at their last values. */
  outboxStats?: () => Promise<OutboxStats>;
  defaultMetrics?: boolean;
}

const LATENCY_BUCKETS = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];

/** Creates the registry and subscribes to every breaker's events. */
export function createMetrics(opts: MetricsOptions): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectProcessMetrics(registry);
  const breakers = opts.breakers;
  const snapshots = () => breakers.map((b) => b.snapshot());

  new Gauge({
    name: "resilience4j_circuitbreaker_state",
    help: "The states of the circuit breaker (1 = current state)",
    labelNames: ["name", "state"],
    registers: [registry],
    collect() {
      for (const s of snapshots()) {
        for (const state of BREAKER_STATES) {
          this.set({ name: s.name, state: state.toLowerCase() }, s.state === state ? 1 : 0);
        }
      }
    },
  });
  const calls = new Histogram({
    name: "resilience4j_circuitbreaker_calls_seconds",
    help: "Total number of calls which finished successfully, failed or were ignored",
    labelNames: ["name", "kind"],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const notPermitted = new Counter({
    name: "resilience4j_circuitbreaker_not_permitted_calls_total",
    help: "Total number of not permitted calls",
    labelNames: ["name", "kind"],
    registers: [registry],
  });
  new Gauge({
    name: "resilience4j_circuitbreaker_buffered_calls",
    help: "The number of buffered calls stored in the sliding window of the circuit breaker",
    labelNames: ["name", "kind"],
    registers: [registry],
    collect() {
      for (const s of snapshots()) {
        this.set({ name: s.name, kind: "successful" }, s.bufferedCalls - s.failedCalls);
        this.set({ name: s.name, kind: "failed" }, s.failedCalls);
      }
    },
  });
  new Gauge({
    name: "resilience4j_circuitbreaker_slow_calls",
    help: "The number of slow calls stored in the sliding window of the circuit breaker",
    labelNames: ["name", "kind"],
    registers: [registry],
    collect() {
      for (const s of snapshots()) {
        this.set({ name: s.name, kind: "successful" }, s.slowCalls - s.slowFailedCalls);
        this.set({ name: s.name, kind: "failed" }, s.slowFailedCalls);
      }
    },
  });
  new Gauge({
    name: "resilience4j_circuitbreaker_failure_rate",
    help:
      "The failure rate of the circuit breaker in percent (0 below the minimum number of calls)",
    labelNames: ["name"],
    registers: [registry],
    collect() {
      for (const s of snapshots()) this.set({ name: s.name }, s.failureRate ?? 0);
    },
  });
  new Gauge({
    name: "resilience4j_circuitbreaker_slow_call_rate",
    help:
      "The slow call rate of the circuit breaker in percent (0 below the minimum number of calls)",
    labelNames: ["name"],
    registers: [registry],
    collect() {
      for (const s of snapshots()) this.set({ name: s.name }, s.slowCallRate ?? 0);
    },
  });
  const transitions = new Counter({
    name: "circuitbreaker_transitions_total",
    help: "State transitions of the circuit breaker",
    labelNames: ["name", "from", "to"],
    registers: [registry],
  });
  const httpRequests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests answered",
    labelNames: ["method", "route", "status"],
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request latency",
    labelNames: ["method", "route", "status"],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const publishDuration = new Histogram({
    name: "kafka_publish_duration_seconds",
    help: "Latency of Kafka publishes (one batch each)",
    labelNames: ["outcome"],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const publishedRecords = new Counter({
    name: "kafka_published_records_total",
    help: "Records acknowledged by Kafka",
    registers: [registry],
  });
  const accepted = new Counter({
    name: "outbox_accepted_total",
    help: "Events stored in the outbox",
    registers: [registry],
  });
  const published = new Counter({
    name: "outbox_published_total",
    help: "Outbox events marked published",
    registers: [registry],
  });
  const recovered = new Counter({
    name: "outbox_recovered_total",
    help:
      "Exactly-once recovery of an expired owner's rows: found committed in Kafka and marked, or released to the relay",
    labelNames: ["outcome"],
    registers: [registry],
  });
  for (const outcome of ["committed", "released"]) recovered.inc({ outcome }, 0);
  let lastStats: OutboxStats = {
    pending: 0,
    oldestPendingAgeSeconds: null,
    deadLettered: 0,
    publishedApprox: 0,
  };
  const statsOnce = async () => {
    if (!opts.outboxStats) return lastStats;
    try {
      lastStats = await opts.outboxStats();
    } catch {
      // Postgres unreachable: keep the last figures; readiness and alerts report the outage.
    }
    return lastStats;
  };
  let scrape: Promise<OutboxStats> | null = null;
  const stats = () => (scrape ??= statsOnce().finally(() => (scrape = null)));
  new Gauge({
    name: "outbox_pending_events",
    help: "Events stored but not yet published to Kafka",
    registers: [registry],
    async collect() {
      this.set((await stats()).pending);
    },
  });
  new Gauge({
    name: "outbox_oldest_pending_age_seconds",
    help: "Age of the oldest pending event (0 when none)",
    registers: [registry],
    async collect() {
      this.set((await stats()).oldestPendingAgeSeconds ?? 0);
    },
  });
  new Gauge({
    name: "outbox_dead_lettered_events",
    help: "Events Kafka refused for good (per-record errors), waiting for an operator",
    registers: [registry],
    async collect() {
      this.set((await stats()).deadLettered);
    },
  });

  for (const b of breakers) {
    const refused = notPermitted.labels({ name: b.name, kind: "not_permitted" });
    refused.inc(0);
    const successful = calls.labels({ name: b.name, kind: "successful" });
    const failed = calls.labels({ name: b.name, kind: "failed" });
    const ignored = calls.labels({ name: b.name, kind: "ignored" });
    for (const kind of ["successful", "failed", "ignored"]) calls.zero({ name: b.name, kind });
    // Every legal transition exists from the start at 0, so increase() over a window holding
    // the first incident after a deploy sees 0 -> 1 rather than a series that just appeared.
    for (const from of BREAKER_STATES) {
      for (const to of allowedTargets(from)) {
        transitions.inc({ name: b.name, from: from.toLowerCase(), to: to.toLowerCase() }, 0);
      }
    }
    b.subscribe((e) => {
      switch (e.type) {
        case "SUCCESS":
          successful.observe(e.durationMs / 1000);
          break;
        case "ERROR":
          failed.observe(e.durationMs / 1000);
          break;
        case "IGNORED_ERROR":
          ignored.observe(e.durationMs / 1000);
          break;
        case "NOT_PERMITTED":
          refused.inc();
          break;
        case "STATE_TRANSITION":
          transitions.inc({
            name: e.breakerName,
            from: e.from.toLowerCase(),
            to: e.to.toLowerCase(),
          });
          break;
      }
    });
  }

  // Label hashing costs more than the observation itself; routes and statuses are few, so the
  // bound children are cached per combination (the hot path of every request).
  const httpChildren = new Map<
    string,
    { count: { inc(): void }; time: { observe(v: number): void } }
  >();
  return {
    registry,
    observeHttp(method, route, status, seconds) {
      const key = `${method} ${route} ${status}`;
      let child = httpChildren.get(key);
      if (!child) {
        const labels = { method, route, status: String(status) };
        child = { count: httpRequests.labels(labels), time: httpDuration.labels(labels) };
        httpChildren.set(key, child);
      }
      child.count.inc();
      child.time.observe(seconds);
    },
    observePublish(outcome, seconds, records) {
      publishDuration.observe({ outcome }, seconds);
      if (outcome === "success") publishedRecords.inc(records);
    },
    accepted: (n) => accepted.inc(n),
    published: (n) => published.inc(n),
    recovered(committed, released) {
      recovered.inc({ outcome: "committed" }, committed);
      recovered.inc({ outcome: "released" }, released);
    },
    render: () => registry.metrics(),
  };
}
