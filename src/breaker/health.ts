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

/** `part` as a percentage of `total`, or null when the sample is smaller than `minimum`. */
export function percentage(part: number, total: number, minimum: number): number | null {
  if (total === 0 || total < minimum) return null;
  return (part / total) * 100;
}

/** Judges a window; a rate exactly at its threshold counts as exceeded (as in Resilience4j). */
export function evaluateHealth(counts: WindowCounts, policy: HealthPolicy): WindowHealth {
  const failureRate = percentage(counts.failed, counts.total, policy.minimumNumberOfCalls);
  const slowCallRate = percentage(counts.slow, counts.total, policy.minimumNumberOfCalls);
  return {
    failureRate,
    slowCallRate,
    failureRateExceeded: failureRate !== null && failureRate >= policy.failureRateThreshold,
    slowCallRateExceeded: slowCallRate !== null && slowCallRate >= policy.slowCallRateThreshold,
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
  const rate = (n: number) => (n / trials) * 100;
  if (
    rate(counts.failed) >= policy.failureRateThreshold ||
    rate(counts.slow) >= policy.slowCallRateThreshold
  ) return "unhealthy";
  if (
    rate(counts.failed + remaining) < policy.failureRateThreshold &&
    rate(counts.slow + remaining) < policy.slowCallRateThreshold
  ) return "healthy";
  return "undecided";
}
