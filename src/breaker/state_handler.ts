/**
 * The breaker read by state: each of the seven states is one handler object that says, in one
 * place, how the state admits a call, what a finished trial gives back, how it judges its window,
 * when it ends by itself and what its snapshot shows. The states are grouped by how they treat
 * calls: admitting_states.ts (CLOSED, METRICS_ONLY, DISABLED), refusing_states.ts (OPEN,
 * FORCED_OPEN) and trial_states.ts (HALF_OPEN, FORCED_HALF_OPEN). circuit_breaker.ts keeps what
 * every state shares: timing calls, totals, events, generations, the TTL and the transitions.
 */

import type { BreakerConfig } from "./config.ts";
import type { BreakerEventBody } from "./events.ts";
import { evaluateHealth, type HealthPolicy } from "./health.ts";
import type { RateWindow, WindowStats } from "./snapshot.ts";
import type { BreakerState } from "./states.ts";
import type { CallOutcome, SlidingWindow, WindowCounts } from "./window.ts";

/** How a state was entered, for the STATE_TRANSITION event. */
export interface Entry {
  reason: string | null;
  operator: boolean;
  ttlMs?: number;
  /** Entering OPEN: the stats that opened it (default: the stats of the state being left). */
  trippedBy?: WindowStats;
}

/** What a state may ask of its breaker. */
export interface BreakerCore {
  readonly config: BreakerConfig;
  /** The policy of the call windows (CLOSED, METRICS_ONLY, FORCED_HALF_OPEN). */
  readonly closedPolicy: HealthPolicy;
  /** The trials' policy: its minimum number of calls is the trial count. */
  readonly halfOpenPolicy: HealthPolicy;
  /** What a call window's rates cover. */
  readonly closedWindow: RateWindow;
  /** What the trials' rates cover. */
  readonly trialWindow: RateWindow;
  /** True for a COUNT_BASED call window. */
  readonly countBased: boolean;
  /** Monotonic ms that never go back. */
  now(): number;
  /** A fresh call window of the configured type and size. */
  newWindow(): SlidingWindow;
  /** Counts and publishes a refused call, then throws CallNotPermittedError. */
  reject(retryAfterMs: number | null): never;
  /** Opens the breaker on unhealthy stats (rate events, then the transition). */
  trip(live: WindowStats, prefix: string): void;
  /** Moves to `to` (not by an operator). */
  enter(to: BreakerState, entry: Entry): void;
  emit(body: BreakerEventBody): void;
  /** A timer that acts only while the current generation lasts; null once disposed. */
  schedule(ms: number, fn: () => void): unknown;
  clearTimeout(handle: unknown): void;
  /** Ms until an operator's TTL ends the state; null without one. */
  ttlRemaining(): number | null;
  /** Wall-clock ms at which the current state was entered. */
  stateSince(): number;
  /** Counts an opening; returns the openings since the breaker was last CLOSED. */
  countOpening(): number;
  /** Source of the backoff's jitter, in [0, 1). */
  random(): number;
}

/** One state's behaviour. */
export interface StateHandler {
  readonly kind: BreakerState;
  /** The window this state records call outcomes in; null when it keeps none. */
  readonly window: SlidingWindow | null;
  /** True for the trial states: a finished call gives its trial back (`release`). */
  readonly trials: boolean;
  /** Monotonic ms at which the state ends by itself (`expire`); Infinity: never. */
  readonly deadline: number;
  /** Wall-clock ms at which the current OPEN period began; null in other states. */
  readonly openedAt: number | null;
  /**
   * Admits a call or refuses it through `core.reject` (CLOSED is admitted by the breaker without
   * asking, on the per-call path).
   */
  admit(): void;
  /**
   * A call admitted in this state ended. `healthSilent`: it ended in an ignored error and was not
   * counted slow while running, so it said nothing about health.
   */
  release(healthSilent: boolean): void;
  /** Acts on the window after `outcome` changed its counts to `counts`. */
  judge(counts: WindowCounts, outcome: CallOutcome): void;
  /** The deadline fell due without its timer (a blocked event loop or a disposed breaker). */
  expire(): void;
  /** Rates, counts and what they cover, for the snapshot and for an opening. */
  stats(): WindowStats;
  /** Ms until calls are admitted again; null when no end is scheduled or calls are admitted. */
  retryAfterMs(): number | null;
  /** Trial calls running now. */
  trialsInFlight(): number;
  /** The state is left: its timer is cancelled. */
  leave(): void;
}

/** Makes a state's handler when the breaker enters it; `left` is the stats of the state left. */
export type StateFactory = (core: BreakerCore, left: WindowStats) => StateHandler;

/** The defaults of a state: admits every call, no trials, no deadline, no timer. */
export abstract class BaseState {
  readonly trials: boolean = false;
  readonly deadline: number = Infinity;
  readonly openedAt: number | null = null;
  constructor(protected readonly core: BreakerCore) {}
  admit(): void {}
  release(_healthSilent: boolean): void {}
  judge(_counts: WindowCounts, _outcome: CallOutcome): void {}
  expire(): void {}
  retryAfterMs(): number | null {
    return null;
  }
  trialsInFlight(): number {
    return 0;
  }
  leave(): void {}
}

/** The stats of a window of calls under `policy`. */
export function windowStats(
  window: SlidingWindow,
  policy: HealthPolicy,
  covers: RateWindow,
): WindowStats {
  const counts = window.counts();
  return { counts, health: evaluateHealth(counts, policy), window: covers };
}
