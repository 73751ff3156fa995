/**
 * The four states only an operator puts the breaker in (transitionTo), which the breaker never
 * leaves by itself except when the operator's TTL runs out (then CLOSED):
 * - DISABLED: every call runs and nothing is recorded beyond the all-time totals;
 * - METRICS_ONLY: every call runs and is recorded; crossing a threshold only emits an event;
 * - FORCED_OPEN: every call is refused, with the TTL left as the retry-after;
 * - FORCED_HALF_OPEN: at most the half-open permit count of calls run at once; recorded, never
 *   judged.
 */

import { evaluateHealth } from "./health.ts";
import { type WindowStats, windowStats } from "./snapshot.ts";
import { type BreakerCore, StateHandler } from "./state_handler.ts";
import type { SlidingWindow, WindowCounts } from "./window.ts";

/** DISABLED: the breaker stands aside; the defaults of StateHandler are exactly that. */
export class DisabledState extends StateHandler {
  readonly kind = "DISABLED";
}

/** METRICS_ONLY: records like CLOSED, but a rate over its threshold is reported, not acted on. */
export class MetricsOnlyState extends StateHandler {
  readonly kind = "METRICS_ONLY";
  override readonly window: SlidingWindow;
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

  override stats(): WindowStats {
    return windowStats(this.window, this.core.closedPolicy, this.core.closedWindow);
  }
}

/** FORCED_OPEN: refuses every call until an operator (or the TTL) moves the breaker on. */
export class ForcedOpenState extends StateHandler {
  readonly kind = "FORCED_OPEN";

  override admit(): void {
    this.core.reject(this.retryAfterMs());
  }

  override retryAfterMs(): number | null {
    return this.core.ttlRemaining();
  }
}

/**
 * FORCED_HALF_OPEN: limits concurrency to the half-open permit count; unlike HALF_OPEN a settled
 * call frees its permit and no verdict is ever drawn from the window.
 */
export class ForcedHalfOpenState extends StateHandler {
  readonly kind = "FORCED_HALF_OPEN";
  override readonly window: SlidingWindow;
  readonly #permits: number;
  #inFlight = 0;

  constructor(core: BreakerCore) {
    super(core);
    this.window = core.newWindow();
    this.#permits = core.config.permittedNumberOfCallsInHalfOpenState;
  }

  override get trialsInFlight(): number {
    return this.#inFlight;
  }

  override admit(): void {
    if (this.#inFlight >= this.#permits) this.core.reject(null);
    this.#inFlight++;
  }

  override settled(): void {
    this.#inFlight--;
  }

  override stats(): WindowStats {
    return windowStats(this.window, this.core.closedPolicy, this.core.closedWindow);
  }
}
