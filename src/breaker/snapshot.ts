/** What a breaker shows of itself: the snapshot for the admin API and metrics, and its parts. */

import { type BreakerConfig, type BreakerConfigSnapshot, configSnapshot } from "./config.ts";
import { evaluateHealth, type HealthPolicy, type WindowHealth } from "./health.ts";
import type { BreakerState } from "./states.ts";
import { EMPTY_COUNTS, type SlidingWindow, type WindowCounts } from "./window.ts";

/**
 * All-time counters; each settled execute() lands in exactly one bucket, so a slow success is
 * counted in slowSuccessful only, not also in successful.
 */
export interface BreakerTotals {
  successful: number;
  failed: number;
  slowSuccessful: number;
  slowFailed: number;
  ignored: number;
  notPermitted: number;
}

/** What a snapshot's rates were computed over, so that a reader can explain them. */
export interface RateWindow {
  /**
   * `sliding-window`: the state's window of recent calls; `half-open-trials`: the trial calls of a
   * half-open period; `none`: the state records no window (DISABLED, FORCED_OPEN).
   */
  readonly calls: "sliding-window" | "half-open-trials" | "none";
  /** True in OPEN: the rates are those of the calls that opened the breaker, kept while it waits. */
  readonly atOpening: boolean;
  /** The rates are null while the window holds fewer calls than this. */
  readonly minimumNumberOfCalls: number;
}

/** A JSON-serialisable view for the admin API and metrics. */
export interface BreakerSnapshot {
  name: string;
  state: BreakerState;
  /** Incremented on every state entry (and reset); results of older generations skip the window. */
  generation: number;
  /** Wall-clock epoch ms when the current state was entered. */
  stateSince: number;
  /** Percent 0-100 over the current window; null below the minimum number of calls. */
  failureRate: number | null;
  slowCallRate: number | null;
  /** What the two rates and the window counts below cover. */
  rateWindow: RateWindow;
  /** Window counts, Resilience4j-style: failedCalls and slowCalls both include slowFailedCalls. */
  bufferedCalls: number;
  failedCalls: number;
  slowCalls: number;
  slowFailedCalls: number;
  successfulCalls: number;
  /** All-time, same as totals.notPermitted. */
  notPermittedCalls: number;
  totals: BreakerTotals;
  /** Wall-clock epoch ms when the current OPEN period began; null in any other state. */
  openedAt: number | null;
  /** Remaining OPEN wait, or remaining TTL in FORCED_OPEN; null when no end is scheduled. */
  retryAfterMs: number | null;
  /** Wall-clock epoch ms at which an operator's TTL returns the breaker to CLOSED. */
  ttlExpiresAt: number | null;
  halfOpenTrialsInFlight: number;
  /** Openings since the breaker was last CLOSED; drives the backoff. */
  consecutiveOpenings: number;
  config: BreakerConfigSnapshot;
}

/** A window's counts with the verdict of its policy. */
export interface WindowStats {
  readonly counts: WindowCounts;
  readonly health: WindowHealth;
  readonly window: RateWindow;
}

/** The stats of a state that records no window. */
export const NO_STATS: WindowStats = Object.freeze({
  counts: EMPTY_COUNTS,
  health: Object.freeze({
    failureRate: null,
    slowCallRate: null,
    failureRateExceeded: false,
    slowCallRateExceeded: false,
  }),
  window: Object.freeze({ calls: "none", atOpening: false, minimumNumberOfCalls: 0 }),
});

/** The current counts of `window` judged by `policy`, described as `rateWindow`. */
export function windowStats(
  window: SlidingWindow,
  policy: HealthPolicy,
  rateWindow: RateWindow,
): WindowStats {
  const counts = window.counts();
  return { counts, health: evaluateHealth(counts, policy), window: rateWindow };
}

/** What the current state shows in a snapshot (see StateHandler in state_handler.ts). */
export interface StateView {
  readonly kind: BreakerState;
  readonly openedAt: number | null;
  readonly trialsInFlight: number;
  stats(): WindowStats;
  retryAfterMs(): number | null;
}

/** The breaker-wide part of a snapshot, which outlives any one state. */
export interface SnapshotBase {
  readonly name: string;
  readonly generation: number;
  readonly stateSince: number;
  readonly totals: BreakerTotals;
  readonly ttlExpiresAt: number | null;
  readonly consecutiveOpenings: number;
  readonly config: BreakerConfig;
}

/** Assembles a snapshot; copies everything mutable, so the result never changes afterwards. */
export function buildSnapshot(base: SnapshotBase, state: StateView): BreakerSnapshot {
  const { counts, health, window } = state.stats();
  return {
    name: base.name,
    state: state.kind,
    generation: base.generation,
    stateSince: base.stateSince,
    failureRate: health.failureRate,
    slowCallRate: health.slowCallRate,
    rateWindow: { ...window },
    bufferedCalls: counts.total,
    failedCalls: counts.failed,
    slowCalls: counts.slow,
    slowFailedCalls: counts.slowFailed,
    successfulCalls: counts.total - counts.failed,
    notPermittedCalls: base.totals.notPermitted,
    totals: { ...base.totals },
    openedAt: state.openedAt,
    retryAfterMs: state.retryAfterMs(),
    ttlExpiresAt: base.ttlExpiresAt,
    halfOpenTrialsInFlight: state.trialsInFlight,
    consecutiveOpenings: base.consecutiveOpenings,
    config: configSnapshot(base.config),
  };
}
