/**
 * HALF_OPEN: after an OPEN wait, a fixed number of trial calls decide. Trials healthy -> CLOSED;
 * unhealthy -> OPEN again (with a longer wait when backoff is on); undecided once the maximum
 * wait is up -> OPEN. Calls beyond the trials are refused.
 */

import { evaluateHealth, halfOpenVerdict } from "./health.ts";
import { type WindowStats, windowStats } from "./snapshot.ts";
import { type BreakerCore, pct, StateHandler, trip } from "./state_handler.ts";
import { createCountWindow, type SlidingWindow, type WindowCounts } from "./window.ts";

/** HALF_OPEN: admits the trial calls only and closes or reopens on their verdict. */
export class HalfOpenState extends StateHandler {
  readonly kind = "HALF_OPEN";
  override readonly window: SlidingWindow;
  /** Monotonic: undecided by then -> OPEN. */
  override readonly deadline: number;
  readonly #trials: number;
  /** Trials admitted and not released; reaching the permit count closes admission. */
  #admitted = 0;
  #inFlight = 0;

  constructor(core: BreakerCore) {
    super(core);
    const now = core.now();
    this.#trials = core.config.permittedNumberOfCallsInHalfOpenState;
    // Trials only: a time window could age out trials while waiting for the rest.
    this.window = createCountWindow(this.#trials);
    this.deadline = now + core.config.maxWaitDurationInHalfOpenState;
    this.timer = core.schedule(core.config.maxWaitDurationInHalfOpenState, () => this.expire());
  }

  override get trialsInFlight(): number {
    return this.#inFlight;
  }

  override admit(): void {
    if (this.#admitted >= this.#trials) this.core.reject(null);
    this.#admitted++;
    this.#inFlight++;
  }

  override settled(unjudged: boolean): void {
    this.#inFlight--;
    // An ignored trial says nothing about health, so its permit goes to another trial; one
    // already counted as slow while running has been judged, and keeps its permit.
    if (unjudged) this.#admitted--;
  }

  override judge(counts: WindowCounts): void {
    const core = this.core;
    const verdict = halfOpenVerdict(counts, core.halfOpenPolicy, this.#trials);
    if (verdict === "undecided") return;
    // Rates over the trials seen so far, which decided the verdict.
    const health = evaluateHealth(counts, { ...core.halfOpenPolicy, minimumNumberOfCalls: 1 });
    if (verdict === "unhealthy") {
      const window = { ...core.trialWindow, minimumNumberOfCalls: 1 };
      trip(core, { counts, health, window }, "half-open trials unhealthy: ");
    } else {
      core.enter("CLOSED", {
        reason: `half-open trials healthy (failure rate ${pct(health.failureRate)}, ` +
          `slow call rate ${pct(health.slowCallRate)})`,
        operator: false,
      });
    }
  }

  /** By timer or, when the timer is late or absent, at the next look at the breaker. */
  override expire(): void {
    this.core.enter("OPEN", {
      reason: `half-open undecided after ${this.core.config.maxWaitDurationInHalfOpenState} ms`,
      operator: false,
    });
  }

  override stats(): WindowStats {
    return windowStats(this.window, this.core.halfOpenPolicy, this.core.trialWindow);
  }
}
