/**
 * OPEN: every call is refused while the breaker waits, a fixed time or one that backs off over
 * consecutive openings; then it moves to HALF_OPEN to try a few calls. While it waits it shows
 * the stats that opened it rather than an empty window.
 */

import { MAX_TIMER_MS } from "./clock.ts";
import type { BreakerConfig } from "./config.ts";
import type { WindowStats } from "./snapshot.ts";
import { type BreakerCore, msUntil, StateHandler } from "./state_handler.ts";

/** OPEN: refuses every call until its wait ends, then HALF_OPEN. */
export class OpenState extends StateHandler {
  readonly kind = "OPEN";
  override readonly openedAt: number;
  /** Monotonic: when the wait ends. */
  override readonly deadline: number;
  /** The stats that opened the breaker, shown while OPEN instead of an empty window. */
  readonly #trippedBy: WindowStats;

  /** `trippedBy`: the stats of the state left, those that opened the breaker. */
  constructor(core: BreakerCore, trippedBy: WindowStats) {
    super(core);
    const now = core.now();
    const wait = openWait(core.config, core.countOpening(), core.random);
    this.openedAt = core.stateSince();
    this.deadline = now + wait;
    this.#trippedBy = { ...trippedBy, window: { ...trippedBy.window, atOpening: true } };
    this.timer = core.schedule(wait, () => {
      core.enter("HALF_OPEN", { reason: `open wait of ${wait} ms elapsed`, operator: false });
    });
  }

  override admit(): void {
    this.core.reject(this.retryAfterMs());
  }

  /** Reached without the timer (late, or a disposed breaker). */
  override expire(): void {
    this.core.enter("HALF_OPEN", { reason: "open wait elapsed", operator: false });
  }

  override stats(): WindowStats {
    return this.#trippedBy;
  }

  override retryAfterMs(): number {
    return msUntil(this.deadline, this.core.now());
  }
}

/** Wait of the n-th consecutive opening: fixed, or min(cap, base * multiplier^(n-1)) +- jitter. */
export function openWait(config: BreakerConfig, n: number, random: () => number): number {
  const base = config.waitDurationInOpenState;
  const backoff = config.openWaitBackoff;
  if (!backoff) return base;
  const capped = Math.min(backoff.maxWaitMs, base * backoff.multiplier ** (n - 1));
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : 0.5;
  const jittered = Math.round(capped * (1 + backoff.jitter * (2 * unit - 1)));
  return Math.min(MAX_TIMER_MS, Math.max(1, jittered));
}
