/**
 * The states that admit a limited number of trial calls: HALF_OPEN (the trials decide between
 * CLOSED and OPEN, within a time limit) and FORCED_HALF_OPEN (an operator's: trials run and are
 * counted, nothing is decided).
 */

import { evaluateHealth, halfOpenVerdict, pct } from "./health.ts";
import type { WindowStats } from "./snapshot.ts";
import { BaseState, type BreakerCore, type StateHandler, windowStats } from "./state_handler.ts";
import { createCountWindow, type SlidingWindow, type WindowCounts } from "./window.ts";

/** HALF_OPEN: the permitted trials decide; undecided by the deadline means OPEN again. */
class HalfOpenState extends BaseState implements StateHandler {
  readonly kind = "HALF_OPEN";
  override readonly trials = true;
  readonly window: SlidingWindow;
  /** Monotonic: undecided by then -> OPEN. */
  override readonly deadline: number;
  /** Trials admitted and not released; reaching the permit count closes admission. */
  #admitted = 0;
  #inFlight = 0;
  #timer: unknown;

  constructor(core: BreakerCore) {
    super(core);
    const maxWait = core.config.maxWaitDurationInHalfOpenState;
    this.deadline = core.now() + maxWait;
    // Trials only: a time window could age out trials while waiting for the rest.
    this.window = createCountWindow(core.config.permittedNumberOfCallsInHalfOpenState);
    this.#timer = core.schedule(maxWait, () => this.expire());
  }

  override admit(): void {
    if (this.#admitted >= this.core.config.permittedNumberOfCallsInHalfOpenState) {
      this.core.reject(null);
    }
    this.#admitted++;
    this.#inFlight++;
  }

  override release(healthSilent: boolean): void {
    this.#inFlight--;
    // An ignored trial says nothing about health, so its permit goes to another trial; one
    // already counted as slow while running has been judged, and keeps its permit.
    if (healthSilent) this.#admitted--;
  }

  override judge(counts: WindowCounts): void {
    const core = this.core;
    const trials = core.config.permittedNumberOfCallsInHalfOpenState;
    const verdict = halfOpenVerdict(counts, core.halfOpenPolicy, trials);
    if (verdict === "undecided") return;
    // Rates over the trials seen so far, which decided the verdict.
    const health = evaluateHealth(counts, { ...core.halfOpenPolicy, minimumNumberOfCalls: 1 });
    if (verdict === "unhealthy") {
      const window = { ...core.trialWindow, minimumNumberOfCalls: 1 };
      core.trip({ counts, health, window }, "half-open trials unhealthy: ");
    } else {
      core.enter("CLOSED", {
        reason: `half-open trials healthy (failure rate ${pct(health.failureRate)}, ` +
          `slow call rate ${pct(health.slowCallRate)})`,
        operator: false,
      });
    }
  }

  override expire(): void {
    const maxWait = this.core.config.maxWaitDurationInHalfOpenState;
    this.core.enter("OPEN", { reason: `half-open undecided after ${maxWait} ms`, operator: false });
  }

  stats(): WindowStats {
    return windowStats(this.window, this.core.halfOpenPolicy, this.core.trialWindow);
  }

  override trialsInFlight(): number {
    return this.#inFlight;
  }

  override leave(): void {
    if (this.#timer !== null) this.core.clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** FORCED_HALF_OPEN: at most the permitted trials run at once; counted, never judged. */
class ForcedHalfOpenState extends BaseState implements StateHandler {
  readonly kind = "FORCED_HALF_OPEN";
  override readonly trials = true;
  readonly window: SlidingWindow;
  #inFlight = 0;

  constructor(core: BreakerCore) {
    super(core);
    this.window = core.newWindow();
  }

  override admit(): void {
    if (this.#inFlight >= this.core.config.permittedNumberOfCallsInHalfOpenState) {
      this.core.reject(null);
    }
    this.#inFlight++;
  }

  override release(): void {
    this.#inFlight--;
  }

  stats(): WindowStats {
    return windowStats(this.window, this.core.closedPolicy, this.core.closedWindow);
  }

  override trialsInFlight(): number {
    return this.#inFlight;
  }
}

/** Enters HALF_OPEN: no trial yet, the time limit armed. */
export const halfOpenState = (core: BreakerCore): StateHandler => new HalfOpenState(core);
/** Enters FORCED_HALF_OPEN with a fresh window. */
export const forcedHalfOpenState = (core: BreakerCore): StateHandler =>
  new ForcedHalfOpenState(core);
