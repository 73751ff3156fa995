/**
 * What every breaker state is made of: the few things a state may ask of its breaker
 * (BreakerCore) and the handler each state implements (StateHandler), one module per state.
 *
 * The breaker (circuit_breaker.ts) keeps what outlives a state: totals, generation, the TTL, the
 * calls in flight and the events. A state keeps its own data and decides, for itself, whether a
 * call may run, what an outcome means, when its deadline falls due and what a snapshot shows.
 */

import type { BreakerConfig } from "./config.ts";
import type { BreakerEventBody } from "./events.ts";
import type { HealthPolicy, WindowHealth } from "./health.ts";
import { NO_STATS, type RateWindow, type StateView, type WindowStats } from "./snapshot.ts";
import type { BreakerState } from "./states.ts";
import type { CallOutcome, SlidingWindow, WindowCounts } from "./window.ts";

/** How a state is entered: who asked, why, and for OPEN the stats that opened it. */
export interface Entry {
  readonly reason: string | null;
  readonly operator: boolean;
  readonly ttlMs?: number;
  readonly trippedBy?: WindowStats;
}

/** What a state may use of its breaker; each member is fixed for the breaker's lifetime. */
export interface BreakerCore {
  readonly config: BreakerConfig;
  /** The thresholds of the sliding window (CLOSED and the operator states that keep one). */
  readonly closedPolicy: HealthPolicy;
  /** Half-open judges exactly the trial calls, so its minimum is the trial count. */
  readonly halfOpenPolicy: HealthPolicy;
  readonly closedWindow: RateWindow;
  readonly trialWindow: RateWindow;
  /** Monotonic ms that never go back. */
  now(): number;
  /** Backoff jitter in [0, 1). */
  random(): number;
  /** Wall-clock epoch ms at which the current state was entered. */
  stateSince(): number;
  /** A fresh sliding window of the configured type and size. */
  newWindow(): SlidingWindow;
  /**
   * Runs `fn` (events held) after `ms` unless the state has been left by then; returns the timer
   * for `cancel`, or null when the breaker is disposed (the deadline then applies lazily).
   */
  schedule(ms: number, fn: () => void): unknown;
  cancel(timer: unknown): void;
  /** Leaves the current state for `to`. */
  enter(to: BreakerState, how: Entry): void;
  emit(body: BreakerEventBody): void;
  /** Counts and publishes a refused call, then throws CallNotPermittedError. */
  reject(retryAfterMs: number | null): never;
  /** Ms left of an operator's TTL; null when none is set. */
  ttlRemaining(): number | null;
  /** Counts one more opening since the breaker was last CLOSED and returns how many there are. */
  countOpening(): number;
}

/**
 * One state's behaviour. The defaults are those of a state that admits every call, keeps no
 * window, has no deadline and shows nothing; each state module overrides what it does.
 */
export abstract class StateHandler implements StateView {
  abstract readonly kind: BreakerState;
  /** Where this state records outcomes; null: a settled call only goes to the totals. */
  readonly window: SlidingWindow | null = null;
  /** Monotonic ms at which expire() falls due; Infinity when the state has none. */
  readonly deadline: number = Infinity;
  /** Wall-clock epoch ms when the current OPEN period began; null in any other state. */
  readonly openedAt: number | null = null;
  /** The timer that calls expire(); null when there is none. */
  protected timer: unknown = null;

  constructor(protected readonly core: BreakerCore) {}

  /** Trial calls admitted and not yet settled. */
  get trialsInFlight(): number {
    return 0;
  }

  /** Takes what a new call needs, or refuses it through core.reject. */
  admit(): void {}

  /**
   * A call admitted in this state settled. `unjudged`: it was an ignored error not counted as
   * slow while it ran, so it said nothing about health.
   */
  settled(_unjudged: boolean): void {}

  /** Acts on the window after `outcome` changed it to `counts` (a live view). */
  judge(_counts: WindowCounts, _outcome: CallOutcome): void {}

  /** The deadline fell due: moves on to the next state. */
  expire(): void {}

  /** Cancels the state's timer (when it is left, or the breaker disposed). */
  cancelTimer(): void {
    if (this.timer !== null) {
      this.core.cancel(this.timer);
      this.timer = null;
    }
  }

  /** The rates and counts a snapshot shows. */
  stats(): WindowStats {
    return NO_STATS;
  }

  /** Ms until a refused caller may try again; null when no end is scheduled. */
  retryAfterMs(): number | null {
    return null;
  }
}

/** Whole ms left until `deadline`, rounded up so a client told to retry after it is never early. */
export const msUntil = (deadline: number, now: number): number =>
  Math.max(0, Math.ceil(deadline - now));

/** A rate in percent for a transition's reason, to one decimal. */
export const pct = (rate: number | null): string => `${Math.round((rate ?? 0) * 10) / 10}%`;

const exceededReason = (health: WindowHealth, config: BreakerConfig): string =>
  [
    health.failureRateExceeded
      ? `failure rate ${pct(health.failureRate)} >= ${config.failureRateThreshold}%`
      : null,
    health.slowCallRateExceeded
      ? `slow call rate ${pct(health.slowCallRate)} >= ${config.slowCallRateThreshold}%`
      : null,
  ].filter((s) => s !== null).join(", ");

/** Opens the breaker on unhealthy stats (CLOSED, HALF_OPEN), announcing each rate exceeded. */
export function trip(core: BreakerCore, live: WindowStats, prefix: string): void {
  const { health } = live;
  // record() hands out a live view; the stats that opened the breaker are kept as a copy.
  const stats: WindowStats = { ...live, counts: Object.freeze({ ...live.counts }) };
  if (health.failureRateExceeded && health.failureRate !== null) {
    core.emit({ type: "FAILURE_RATE_EXCEEDED", rate: health.failureRate });
  }
  if (health.slowCallRateExceeded && health.slowCallRate !== null) {
    core.emit({ type: "SLOW_CALL_RATE_EXCEEDED", rate: health.slowCallRate });
  }
  core.enter("OPEN", {
    reason: prefix + exceededReason(health, core.config),
    operator: false,
    trippedBy: stats,
  });
}
