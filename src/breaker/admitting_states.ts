/**
 * The states that admit every call: CLOSED (judges its window and opens on unhealthy rates),
 * METRICS_ONLY (judges the same way but only reports a crossing, never opens) and DISABLED (keeps
 * no window at all).
 */

import { evaluateHealth, isUnhealthy } from "./health.ts";
import { NO_STATS, type WindowStats } from "./snapshot.ts";
import { BaseState, type BreakerCore, type StateHandler, windowStats } from "./state_handler.ts";
import type { CallOutcome, SlidingWindow, WindowCounts } from "./window.ts";

/** CLOSED: every call admitted and counted; unhealthy rates over the window open the breaker. */
class ClosedState extends BaseState implements StateHandler {
  readonly kind = "CLOSED";
  readonly window: SlidingWindow;
  /**
   * In a count window a plain success cannot raise a rate once the window held the minimum
   * before it, and those rates were judged healthy then: above this many calls, no evaluation.
   */
  readonly #judgedUpTo: number;

  constructor(core: BreakerCore) {
    super(core);
    this.window = core.newWindow();
    this.#judgedUpTo = core.countBased ? core.config.minimumNumberOfCalls : Infinity;
  }

  override judge(counts: WindowCounts, outcome: CallOutcome): void {
    if (!outcome.failed && !outcome.slow && counts.total > this.#judgedUpTo) return;
    const core = this.core;
    const health = evaluateHealth(counts, core.closedPolicy);
    if (isUnhealthy(health)) core.trip({ counts, health, window: core.closedWindow }, "");
  }

  stats(): WindowStats {
    return windowStats(this.window, this.core.closedPolicy, this.core.closedWindow);
  }
}

/** METRICS_ONLY: like CLOSED, but a rate crossing its threshold is only reported, once. */
class MetricsOnlyState extends BaseState implements StateHandler {
  readonly kind = "METRICS_ONLY";
  readonly window: SlidingWindow;
  #failureExceeded = false;
  #slowExceeded = false;

  constructor(core: BreakerCore) {
    super(core);
    this.window = core.newWindow();
  }

  override judge(counts: WindowCounts): void {
    const health = evaluateHealth(counts, this.core.closedPolicy);
    // Edge-triggered: one event per crossing, re-armed once the rate drops below again.
    if (health.failureRateExceeded && !this.#failureExceeded && health.failureRate !== null) {
      this.core.emit({ type: "FAILURE_RATE_EXCEEDED", rate: health.failureRate });
    }
    if (health.slowCallRateExceeded && !this.#slowExceeded && health.slowCallRate !== null) {
      this.core.emit({ type: "SLOW_CALL_RATE_EXCEEDED", rate: health.slowCallRate });
    }
    this.#failureExceeded = health.failureRateExceeded;
    this.#slowExceeded = health.slowCallRateExceeded;
  }

  stats(): WindowStats {
    return windowStats(this.window, this.core.closedPolicy, this.core.closedWindow);
  }
}

/** DISABLED: every call admitted, nothing judged, no window. */
class DisabledState extends BaseState implements StateHandler {
  readonly kind = "DISABLED";
  readonly window = null;

  stats(): WindowStats {
    return NO_STATS;
  }
}

/** Enters CLOSED with a fresh window. */
export const closedState = (core: BreakerCore): StateHandler => new ClosedState(core);
/** Enters METRICS_ONLY with a fresh window and no crossing reported yet. */
export const metricsOnlyState = (core: BreakerCore): StateHandler => new MetricsOnlyState(core);
/** Enters DISABLED. */
export const disabledState = (core: BreakerCore): StateHandler => new DisabledState(core);
