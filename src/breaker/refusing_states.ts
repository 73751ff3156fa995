/**
 * The states that refuse every call: OPEN (waits, then lets trials in through HALF_OPEN; shows the
 * stats that opened it) and FORCED_OPEN (an operator's, until another transition or its TTL).
 */

import { MAX_TIMER_MS } from "./clock.ts";
import type { BreakerConfig } from "./config.ts";
import { msUntil, NO_STATS, type WindowStats } from "./snapshot.ts";
import { BaseState, type BreakerCore, type StateHandler } from "./state_handler.ts";

/** OPEN: refuses calls until its wait ends, then HALF_OPEN. */
class OpenState extends BaseState implements StateHandler {
  readonly kind = "OPEN";
  readonly window = null;
  override readonly openedAt: number;
  /** Monotonic: when the wait ends. */
  override readonly deadline: number;
  /** The stats that opened the breaker, shown while OPEN instead of an empty window. */
  readonly #trippedBy: WindowStats;
  #timer: unknown;

  constructor(core: BreakerCore, left: WindowStats) {
    super(core);
    const now = core.now();
    const wait = openWait(core.config, core.countOpening(), core.random);
    this.openedAt = core.stateSince();
    this.deadline = now + wait;
    this.#trippedBy = { ...left, window: { ...left.window, atOpening: true } };
    this.#timer = core.schedule(wait, () => {
      core.enter("HALF_OPEN", { reason: `open wait of ${wait} ms elapsed`, operator: false });
    });
  }

  override admit(): void {
    this.core.reject(this.retryAfterMs());
  }

  override expire(): void {
    this.core.enter("HALF_OPEN", { reason: "open wait elapsed", operator: false });
  }

  stats(): WindowStats {
    return this.#trippedBy;
  }

  override retryAfterMs(): number {
    return msUntil(this.deadline, this.core.now());
  }

  override leave(): void {
    if (this.#timer !== null) this.core.clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** FORCED_OPEN: refuses calls until an operator moves it or its TTL returns it to CLOSED. */
class ForcedOpenState extends BaseState implements StateHandler {
  readonly kind = "FORCED_OPEN";
  readonly window = null;

  override admit(): void {
    this.core.reject(this.core.ttlRemaining());
  }

  stats(): WindowStats {
    return NO_STATS;
  }

  override retryAfterMs(): number | null {
    return this.core.ttlRemaining();
  }
}

/** Wait of the n-th consecutive opening: fixed, or min(cap, base * multiplier^(n-1)) +- jitter. */
function openWait(config: BreakerConfig, n: number, random: () => number): number {
  const base = config.waitDurationInOpenState;
  const backoff = config.openWaitBackoff;
  if (!backoff) return base;
  const capped = Math.min(backoff.maxWaitMs, base * backoff.multiplier ** (n - 1));
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : 0.5;
  const jittered = Math.round(capped * (1 + backoff.jitter * (2 * unit - 1)));
  return Math.min(MAX_TIMER_MS, Math.max(1, jittered));
}

/** Enters OPEN: counts the opening, arms the wait, keeps `left` (the stats that opened it). */
export const openState = (core: BreakerCore, left: WindowStats): StateHandler =>
  new OpenState(core, left);
/** Enters FORCED_OPEN. */
export const forcedOpenState = (core: BreakerCore): StateHandler => new ForcedOpenState(core);
