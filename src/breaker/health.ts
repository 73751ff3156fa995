/** The one decision the breaker makes about a window: are its rates at or over the thresholds? */

import type { WindowCounts } from "./window.ts";

/** The thresholds a window is judged against. */
export interface HealthPolicy {
  readonly failureRateThreshold: number;
  readonly slowCallRateThreshold: number;
  /** Below this many calls the rates are unknown (null) rather than judged on too few samples. */
  readonly minimumNumberOfCalls: number;
}

/** Rates in percent (null while the window holds fewer calls than the minimum) and verdicts. */
export interface WindowHealth {
  readonly failureRate: number | null;
  readonly slowCallRate: number | null;
  readonly failureRateExceeded: boolean;
  readonly slowCallRateExceeded: boolean;
}

/**
 * `part` as a percentage of `total` for display, rounded to 0.001 (29 of 50 shows 58, not
 * 57.99999999999999), or null when the sample is smaller than `minimum`. Never compared with a
 * threshold: `atLeast` does that exactly.
 */
export function percentage(part: number, total: number, minimum: number): number | null {
  if (total === 0 || total < minimum) return null;
  return Math.round((part * 100_000) / total) / 1000;
}

/** part / total >= threshold %, compared without a division so exact thresholds trip. */
function atLeast(part: number, total: number, thresholdPercent: number): boolean {
  return part * 100 >= thresholdPercent * total;
}

/** Judges a window; a rate exactly at its threshold counts as exceeded (as in Resilience4j). */
export function evaluateHealth(counts: WindowCounts, policy: HealthPolicy): WindowHealth {
  const { total, failed, slow } = counts;
  const judged = total > 0 && total >= policy.minimumNumberOfCalls;
  return {
    failureRate: percentage(failed, total, policy.minimumNumberOfCalls),
    slowCallRate: percentage(slow, total, policy.minimumNumberOfCalls),
    failureRateExceeded: judged && atLeast(failed, total, policy.failureRateThreshold),
    slowCallRateExceeded: judged && atLeast(slow, total, policy.slowCallRateThreshold),
  };
}

/** True when either rate is at or over its threshold. */
export function isUnhealthy(health: WindowHealth): boolean {
  return health.failureRateExceeded || health.slowCallRateExceeded;
}

/**
 * The half-open verdict as soon as it is certain: with `trials` trial calls in all, the remaining
 * ones cannot change it once the failures or slow calls so far already reach a threshold
 * (unhealthy), or once even all-failing, all-slow remaining trials would stay below both
 * (healthy). Deciding early keeps HALF_OPEN short when Kafka is still down.
 */
export function halfOpenVerdict(
  counts: WindowCounts,
  policy: HealthPolicy,
  trials: number,
): "healthy" | "unhealthy" | "undecided" {
  const remaining = Math.max(0, trials - counts.total);
  const { failureRateThreshold: failures, slowCallRateThreshold: slows } = policy;
  if (atLeast(counts.failed, trials, failures) || atLeast(counts.slow, trials, slows)) {
    return "unhealthy";
  }
  if (
    !atLeast(counts.failed + remaining, trials, failures) &&
    !atLeast(counts.slow + remaining, trials, slows)
  ) return "healthy";
  return "undecided";
}
