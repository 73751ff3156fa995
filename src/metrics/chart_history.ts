/**
 * The history of what the operator page charts, kept in the service: a sample every few seconds
 * of the breaker (state, rates, thresholds), the outbox counters and the backlog, in a ring buffer
 * of fixed size. A page opened at any time draws the last minutes at once, an outage included,
 * instead of only what its own polls saw.
 */
import type { BreakerState, CircuitBreaker } from "../breaker/circuit_breaker.ts";
import type { OutboxStats } from "../outbox/repository.ts";
import type { Metrics } from "./metrics.ts";
import { createRingBuffer } from "./ring_buffer.ts";

/** One sample every two seconds. */
export const CHART_SAMPLE_INTERVAL_MS = 2_000;
/** 480 samples of 2 s: 16 minutes, the page's 15 with a margin; about 100 KB at most. */
export const CHART_HISTORY_SAMPLES = 480;
/** The counters whose per-second rates the page draws (history.js names them too). */
export const CHARTED_COUNTERS = ["outbox_accepted_total", "outbox_published_total"] as const;

/** The breaker as charted: its state, both rates (null when not evaluated) and thresholds. */
export interface ChartBreakerPoint {
  state: BreakerState;
  failureRate: number | null;
  failureRateThreshold: number;
  slowCallRate: number | null;
  slowCallRateThreshold: number;
}

/** One sample; a part is null when it could not be read (Postgres down: no backlog). */
export interface ChartSample {
  /** Wall-clock epoch ms. */
  at: number;
  breaker: ChartBreakerPoint | null;
  /** Totals of CHARTED_COUNTERS by name; the page derives rates between samples. */
  counters: Record<string, number> | null;
  pending: number | null;
}

/** `GET /operator/history`: the samples oldest first, and how they were taken. */
export interface ChartHistoryView {
  intervalMs: number;
  capacity: number;
  /** The service's clock when it answered, so a page can correct for its own clock's offset. */
  now: number;
  samples: ChartSample[];
}

/** What the sampler reads, and how often. */
export interface ChartHistoryOptions {
  breaker: CircuitBreaker;
  metrics: Pick<Metrics, "registry">;
  /** The outbox's counts; absent, the backlog is not sampled. */
  outboxStats?: () => Promise<OutboxStats>;
  /** Default CHART_SAMPLE_INTERVAL_MS. */
  intervalMs?: number;
  /** Default CHART_HISTORY_SAMPLES. */
  capacity?: number;
  /** Wall clock; default Date.now. */
  now?: () => number;
}

/** The sampler and its buffer. */
export interface ChartHistory {
  /** Takes one sample now (a sample still being read is not doubled: both await it). */
  sample(): Promise<void>;
  /** Samples at once and then every interval until `stop()`. */
  start(): void;
  /** Stops the timer; resolves once a sample being read is stored. */
  stop(): Promise<void>;
  view(): ChartHistoryView;
}

/** The breaker's charted figures from its snapshot. */
export function breakerPoint(breaker: CircuitBreaker): ChartBreakerPoint {
  const s = breaker.snapshot();
  return {
    state: s.state,
    failureRate: s.failureRate,
    failureRateThreshold: s.config.failureRateThreshold,
    slowCallRate: s.slowCallRate,
    slowCallRateThreshold: s.config.slowCallRateThreshold,
  };
}

/** The current totals of CHARTED_COUNTERS in the registry; null when one is not registered. */
async function counterTotals(metrics: Pick<Metrics, "registry">) {
  const out: Record<string, number> = {};
  for (const name of CHARTED_COUNTERS) {
    const value = (await metrics.registry.getSingleMetric(name)?.get())?.values[0]?.value;
    if (typeof value !== "number") return null;
    out[name] = value;
  }
  return out;
}

/** Creates the sampler; nothing runs until `start()` or `sample()`. */
export function createChartHistory(opts: ChartHistoryOptions): ChartHistory {
  const intervalMs = opts.intervalMs ?? CHART_SAMPLE_INTERVAL_MS;
  if (!Number.isInteger(intervalMs) || intervalMs < 100) {
    throw new RangeError(`intervalMs must be an integer >= 100, got ${intervalMs}`);
  }
  const ring = createRingBuffer<ChartSample>(opts.capacity ?? CHART_HISTORY_SAMPLES);
  const now = opts.now ?? Date.now;
  let inFlight: Promise<void> | null = null;
  let timer: ReturnType<typeof setInterval> | undefined;

  async function read(): Promise<void> {
    const at = now();
    const breaker = breakerPoint(opts.breaker);
    const [counters, stats] = await Promise.all([
      counterTotals(opts.metrics).catch(() => null),
      opts.outboxStats ? opts.outboxStats().catch(() => null) : null,
    ]);
    ring.push({ at, breaker, counters, pending: stats?.pending ?? null });
  }

  const sample = () => inFlight ??= read().finally(() => (inFlight = null));

  return {
    sample,
    start() {
      if (timer !== undefined) return;
      sample();
      timer = setInterval(sample, intervalMs);
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await inFlight;
    },
    view: () => ({ intervalMs, capacity: ring.capacity, now: now(), samples: ring.toArray() }),
  };
}
