/**
 * The breaker's state machine: the current state, entering the next one, the timers that bound
 * a state's life, and the operator's TTL. What each state does lives in its own module
 * (closed_state.ts, open_state.ts, half_open_state.ts, operator_states.ts); this class keeps what
 * outlives one state and is what a state sees of its breaker (BreakerCore).
 */

import type { Clock } from "./clock.ts";
import type { BreakerConfig } from "./config.ts";
import { ClosedState } from "./closed_state.ts";
import { CallNotPermittedError, IllegalTransitionError } from "./errors.ts";
import type { EventHub } from "./event_hub.ts";
import type { BreakerEventBody } from "./events.ts";
import { HalfOpenState } from "./half_open_state.ts";
import type { HealthPolicy } from "./health.ts";
import { OpenState } from "./open_state.ts";
import {
  DisabledState,
  ForcedHalfOpenState,
  ForcedOpenState,
  MetricsOnlyState,
} from "./operator_states.ts";
import type { RunningCalls } from "./running_calls.ts";
import {
  type BreakerSnapshot,
  type BreakerTotals,
  buildSnapshot,
  NO_STATS,
  type RateWindow,
  type WindowStats,
} from "./snapshot.ts";
import { type BreakerCore, type Entry, msUntil, type StateHandler } from "./state_handler.ts";
import { allowedTargets, type BreakerState, isLegalTransition, REFUSING_STATES } from "./states.ts";
import { createCountWindow, createTimeWindow, type SlidingWindow } from "./window.ts";

/** How each state is entered; only OPEN uses the stats of the state it replaces. */
const ENTER: {
  readonly [K in BreakerState]: (core: BreakerCore, previous: WindowStats) => StateHandler;
} = {
  CLOSED: (core) => new ClosedState(core),
  OPEN: (core, previous) => new OpenState(core, previous),
  HALF_OPEN: (core) => new HalfOpenState(core),
  DISABLED: (core) => new DisabledState(core),
  METRICS_ONLY: (core) => new MetricsOnlyState(core),
  FORCED_OPEN: (core) => new ForcedOpenState(core),
  FORCED_HALF_OPEN: (core) => new ForcedHalfOpenState(core),
};

/** What a state machine shares with its breaker. */
export interface StateMachineOptions {
  readonly name: string;
  readonly config: BreakerConfig;
  readonly clock: Clock;
  /** Monotonic reading that never goes back (see clock.ts's steady). */
  readonly now: () => number;
  readonly wallNow: () => number;
  readonly random: () => number;
  /** The breaker's events; held while the machine changes state. */
  readonly hub: EventHub;
  /** Forgotten on every state entry: calls still running belong to the state that ends. */
  readonly running: RunningCalls;
  /** The breaker's all-time counters; refusals are counted here. */
  readonly totals: BreakerTotals;
}

const rateWindow = (calls: RateWindow["calls"], minimumNumberOfCalls: number): RateWindow =>
  Object.freeze({ calls, atOpening: false, minimumNumberOfCalls });

/** One breaker's state and transitions; the breaker's public API is CircuitBreaker. */
export class StateMachine implements BreakerCore {
  readonly config: BreakerConfig;
  readonly closedPolicy: HealthPolicy;
  readonly halfOpenPolicy: HealthPolicy;
  readonly closedWindow: RateWindow;
  readonly trialWindow: RateWindow;
  readonly now: () => number;
  readonly random: () => number;
  readonly #name: string;
  readonly #clock: Clock;
  readonly #wallNow: () => number;
  readonly #hub: EventHub;
  readonly #running: RunningCalls;
  readonly #totals: BreakerTotals;
  #state: StateHandler;
  #generation = 1;
  /** Wall clock, for the snapshot. */
  #stateSince: number;
  #consecutiveOpenings = 0;
  /** expiresAt is monotonic, expiresAtWall its wall-clock equivalent for people. */
  #ttl: { handle: unknown; expiresAt: number; expiresAtWall: number } | null = null;
  #disposed = false;

  /** Starts CLOSED with an empty window. */
  constructor(options: StateMachineOptions) {
    const { config } = options;
    this.config = config;
    this.closedPolicy = config;
    // Half-open judges exactly the trial calls, so its minimum is the trial count.
    this.halfOpenPolicy = {
      ...config,
      minimumNumberOfCalls: config.permittedNumberOfCallsInHalfOpenState,
    };
    this.closedWindow = rateWindow("sliding-window", config.minimumNumberOfCalls);
    this.trialWindow = rateWindow("half-open-trials", this.halfOpenPolicy.minimumNumberOfCalls);
    this.now = options.now;
    this.random = options.random;
    this.#name = options.name;
    this.#clock = options.clock;
    this.#wallNow = options.wallNow;
    this.#hub = options.hub;
    this.#running = options.running;
    this.#totals = options.totals;
    this.#state = new ClosedState(this);
    this.#stateSince = this.#wallNow();
  }

  /** The current state's handler; its deadline may have fallen due (see applyDeadlines). */
  get state(): StateHandler {
    return this.#state;
  }

  /** Incremented on every state entry; a call of an older generation is late. */
  get generation(): number {
    return this.#generation;
  }

  stateSince(): number {
    return this.#stateSince;
  }

  countOpening(): number {
    return ++this.#consecutiveOpenings;
  }

  newWindow(): SlidingWindow {
    const { slidingWindowType, slidingWindowSize } = this.config;
    return slidingWindowType === "TIME_BASED"
      ? createTimeWindow(slidingWindowSize, this.now)
      : createCountWindow(slidingWindowSize);
  }

  /** Runs `fn` with event delivery held, so listeners see the breaker only once it settled. */
  held<T>(fn: (this: StateMachine) => T): T {
    this.#hub.hold();
    try {
      return fn.call(this);
    } finally {
      this.#hub.release();
    }
  }

  /**
   * Applies a deadline whose timer is late (a blocked event loop) or absent (a disposed
   * breaker), as if it fell due now: the earlier of the TTL and the state's own deadline.
   */
  applyDeadlines(): void {
    const own = this.#state.deadline;
    const ttl = this.#ttl?.expiresAt ?? Infinity;
    const now = this.now();
    if (ttl <= own && now >= ttl) {
      this.enter("CLOSED", { reason: "ttl expired", operator: false });
    } else if (now >= own) {
      this.#state.expire();
    }
  }

  /**
   * Admits a call in any state but CLOSED (execute admits those itself) or throws
   * CallNotPermittedError; returns the generation the call belongs to. Run it held.
   */
  acquire(): number {
    this.applyDeadlines();
    this.#state.admit();
    return this.#generation;
  }

  /** CircuitBreaker.refuses once past CLOSED; run it held. */
  refuses(): boolean {
    this.applyDeadlines();
    if (!REFUSING_STATES.has(this.#state.kind)) return false;
    this.#countRefusal(this.#state.retryAfterMs());
    return true;
  }

  /** An operator's transition, its arguments checked by CircuitBreaker.transitionTo. */
  transition(to: BreakerState, reason: string | null, ttlMs: number | undefined): void {
    this.held(() => {
      this.applyDeadlines();
      const from = this.#state.kind;
      if (!isLegalTransition(from, to)) {
        throw new IllegalTransitionError(from, to, allowedTargets(from));
      }
      if (from !== to) {
        this.enter(to, { reason, operator: true, ttlMs });
      } else if (ttlMs !== undefined && to !== "CLOSED") {
        this.#armTtl(ttlMs);
      }
    });
  }

  /** Back to CLOSED with a fresh window and no backoff history. */
  reset(): void {
    this.held(() => {
      this.enter("CLOSED", { reason: "reset", operator: true });
      this.emit({ type: "RESET" });
    });
  }

  /** The snapshot of the breaker, whose name and totals this machine shares. */
  snapshot(): BreakerSnapshot {
    return buildSnapshot({
      name: this.#name,
      generation: this.#generation,
      stateSince: this.#stateSince,
      totals: this.#totals,
      ttlExpiresAt: this.#ttl?.expiresAtWall ?? null,
      consecutiveOpenings: this.#consecutiveOpenings,
      config: this.config,
    }, this.#state);
  }

  /** Cancels the state's timer and the TTL's, and schedules no new ones. */
  dispose(): void {
    this.#disposed = true;
    this.#state.cancelTimer();
    this.#clearTtl();
  }

  reject(retryAfterMs: number | null): never {
    this.#countRefusal(retryAfterMs);
    throw new CallNotPermittedError(this.#name, this.#state.kind, retryAfterMs);
  }

  /** A refused call: counted in the totals and published as a NOT_PERMITTED event. */
  #countRefusal(retryAfterMs: number | null): void {
    this.#totals.notPermitted++;
    this.#hub.publishCall("NOT_PERMITTED", this.now(), 0, false, false, "", retryAfterMs);
  }

  enter(to: BreakerState, how: Entry): void {
    const from = this.#state.kind;
    // Only OPEN shows the stats it was entered with; computing them is otherwise wasted.
    const previousStats = to === "OPEN" ? how.trippedBy ?? this.#state.stats() : NO_STATS;
    this.#state.cancelTimer();
    this.#clearTtl();
    // Calls still running belong to the state that ends: late, never counted in the next one.
    this.#running.clear();
    this.#generation++;
    this.#stateSince = this.#wallNow();
    if (to === "CLOSED") this.#consecutiveOpenings = 0;
    this.#state = ENTER[to](this, previousStats);
    if (how.ttlMs !== undefined && to !== "CLOSED") this.#armTtl(how.ttlMs);
    if (from !== to) {
      this.emit({
        type: "STATE_TRANSITION",
        from,
        to,
        reason: how.reason,
        operator: how.operator,
      });
    }
  }

  emit(body: BreakerEventBody): void {
    this.#hub.publish(body);
  }

  /** Timers are bound to the generation that set them, so a stale timer can never act. */
  schedule(ms: number, fn: () => void): unknown {
    if (this.#disposed) return null;
    const generation = this.#generation;
    return this.#clock.setTimeout(() => {
      if (!this.#disposed && this.#generation === generation) this.held(fn);
    }, ms);
  }

  cancel(timer: unknown): void {
    this.#clock.clearTimeout(timer);
  }

  ttlRemaining(): number | null {
    return this.#ttl === null ? null : msUntil(this.#ttl.expiresAt, this.now());
  }

  #armTtl(ttlMs: number): void {
    this.#clearTtl();
    // Disposed: no timer, the TTL is applied lazily (applyDeadlines).
    const handle = this.schedule(ttlMs, () => {
      this.enter("CLOSED", { reason: "ttl expired", operator: false });
    });
    this.#ttl = {
      handle,
      expiresAt: this.now() + ttlMs,
      expiresAtWall: this.#wallNow() + ttlMs,
    };
  }

  #clearTtl(): void {
    if (this.#ttl !== null && this.#ttl.handle !== null) this.#clock.clearTimeout(this.#ttl.handle);
    this.#ttl = null;
  }
}
