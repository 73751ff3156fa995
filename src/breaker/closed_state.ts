/**
 * CLOSED, the normal state: every call runs, each outcome goes into the sliding window, and the
 * breaker opens as soon as the window's failure or slow-call rate reaches its threshold.
 */

import { evaluateHealth, isUnhealthy } from "./health.ts";
import { type WindowStats, windowStats } from "./snapshot.ts";
import { type BreakerCore, StateHandler, trip } from "./state_handler.ts";
import type { CallOutcome, SlidingWindow, WindowCounts } from "./window.ts";

/** CLOSED: admits everything, judges the window after each outcome, trips to OPEN. */
export class ClosedState extends StateHandler {
  readonly kind = "CLOSED";
  override readonly window: SlidingWindow;
  readonly #countBased: boolean;
  readonly #minimumNumberOfCalls: number;

  constructor(core: BreakerCore) {
    super(core);
    this.window = core.newWindow();
    this.#countBased = core.config.slidingWindowType === "COUNT_BASED";
    this.#minimumNumberOfCalls = core.config.minimumNumberOfCalls;
  }

  override judge(counts: WindowCounts, outcome: CallOutcome): void {
    // In a count window a plain success cannot raise a rate once the window held the minimum
    // before it, and those rates were judged healthy then: skip the evaluation.
    if (
      !outcome.failed && !outcome.slow && this.#countBased &&
      counts.total > this.#minimumNumberOfCalls
    ) return;
    const health = evaluateHealth(counts, this.core.closedPolicy);
    if (isUnhealthy(health)) {
      trip(this.core, { counts, health, window: this.core.closedWindow }, "");
    }
  }

  override stats(): WindowStats {
    return windowStats(this.window, this.core.closedPolicy, this.core.closedWindow);
  }
}
