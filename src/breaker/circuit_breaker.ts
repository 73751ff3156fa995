/** The circuit breaker state machine: admits or rejects calls and moves between the seven states. */

import { type Clock, MAX_TIMER_MS, realClock, steady } from "./clock.ts";
import { type BreakerConfig, configSnapshot, validateBreakerConfig } from "./config.ts";
import { CallNotPermittedError, IllegalTransitionError, messageOf } from "./errors.ts";
import { createEventHub, type EventHub } from "./event_hub.ts";
import { createRunningCalls, type RunningCall, type RunningCalls } from "./running_calls.ts";
import type {
  BreakerEvent,
  BreakerEventBody,
  BreakerEventListener,
  RecentEventsFilter,
} from "./events.ts";
import { exceededReason, type HealthPolicy } from "./health.ts";
import {
  type BreakerSnapshot,
  type BreakerTotals,
  msUntil,
  NO_STATS,
  type RateWindow,
  type WindowStats,
} from "./snapshot.ts";
import type { BreakerCore, Entry, StateFactory, StateHandler } from "./state_handler.ts";
import { closedState, disabledState, metricsOnlyState } from "./admitting_states.ts";
import { forcedOpenState, openState } from "./refusing_states.ts";
import { forcedHalfOpenState, halfOpenState } from "./trial_states.ts";
import {
  allowedTargets,
  BREAKER_STATES,
  type BreakerState,
  isBreakerState,
  isLegalTransition,
  REFUSING_STATES,
} from "./states.ts";
import { type CallOutcome, createCountWindow, createTimeWindow } from "./window.ts";

/** Re-exported so callers need only this module for the breaker's public types. */
export type {
  BreakerConfig,
  BreakerEvent,
  BreakerSnapshot,
  BreakerState,
  BreakerTotals,
  Clock,
  RateWindow,
};

/** Construction options that are not settings: injected time, randomness and error reporting. */
export interface CircuitBreakerOptions {
  /** Defaults to performance.now() for durations, Date.now() for timestamps, unref'd timers. */
  clock?: Clock;
  /** Source of backoff jitter in [0, 1); defaults to Math.random. */
  random?: () => number;
  /** Told when a subscriber throws or rejects; the breaker itself carries on either way. */
  onListenerError?: (error: unknown, event: BreakerEvent) => void;
}

/** Options of an operator transition. */
export interface TransitionOptions {
  /** Free text kept in the STATE_TRANSITION event (who and why). */
  reason?: string;
  /** Return to CLOSED after this many ms unless another transition happens first. */
  ttlMs?: number;
}

// The four outcomes, shared instead of allocated per call.
const SUCCESS: CallOutcome = Object.freeze({ failed: false, slow: false });
const SLOW_SUCCESS: CallOutcome = Object.freeze({ failed: false, slow: true });
const FAILURE: CallOutcome = Object.freeze({ failed: true, slow: false });
const SLOW_FAILURE: CallOutcome = Object.freeze({ failed: true, slow: true });

/** Each state's handler, made when the breaker enters it. */
const STATES: { readonly [S in BreakerState]: StateFactory } = {
  CLOSED: closedState,
  OPEN: openState,
  HALF_OPEN: halfOpenState,
  DISABLED: disabledState,
  METRICS_ONLY: metricsOnlyState,
  FORCED_OPEN: forcedOpenState,
  FORCED_HALF_OPEN: forcedHalfOpenState,
};

/**
 * A Resilience4j-style circuit breaker around async calls; no I/O of its own.
 *
 * One deliberate difference: a call is counted as slow in the window as soon as it has run
 * longer than slowCallDurationThreshold, while it is still running, instead of when it
 * completes (see running_calls.ts). Each call still occupies exactly one window entry: the slow
 * success recorded then becomes a slow failure if the call later fails (while that entry is still
 * in the window of the same generation); a later success or ignored error changes nothing. Events
 * and all-time totals are unchanged: one per call, at completion, with its measured duration.
 */
export class CircuitBreaker {
  readonly name: string;
  readonly #config: BreakerConfig;
  readonly #clock: Clock;
  /** Monotonic reading that never goes back, whatever the injected clock does. */
  readonly #now: () => number;
  readonly #wallNow: () => number;
  readonly #random: () => number;
  readonly #hub: EventHub;
  readonly #running: RunningCalls;
  /** What the states may ask of the breaker (state_handler.ts); made once. */
  readonly #core: BreakerCore;
  readonly #totals: BreakerTotals = {
    successful: 0,
    failed: 0,
    slowSuccessful: 0,
    slowFailed: 0,
    ignored: 0,
    notPermitted: 0,
  };
  #state: StateHandler;
  #generation = 1;
  /** Wall clock, for the snapshot. */
  #stateSince: number;
  #consecutiveOpenings = 0;
  /** expiresAt is monotonic, expiresAtWall its wall-clock equivalent for people. */
  #ttl: { handle: unknown; expiresAt: number; expiresAtWall: number } | null = null;
  #disposed = false;

  /** Validates the config eagerly so a bad setting fails at startup, not at the first trip. */
  constructor(
    name: string,
    config: Partial<BreakerConfig> = {},
    options: CircuitBreakerOptions = {},
  ) {
    if (typeof name !== "string" || name.trim() === "") {
      throw new TypeError(`breaker name must be a non-empty string, got ${JSON.stringify(name)}`);
    }
    this.name = name;
    const valid = validateBreakerConfig(config);
    this.#config = valid;
    const clock = options.clock ?? realClock;
    this.#clock = clock;
    // performance.now() cannot step back; an injected clock might, so it is guarded.
    const now = clock === realClock ? () => performance.now() : steady(() => clock.now());
    this.#now = now;
    this.#wallNow = clock.wallNow ? () => clock.wallNow!() : now;
    this.#random = options.random ?? Math.random;
    // Half-open judges exactly the trial calls, so its minimum is the trial count.
    const halfOpenPolicy: HealthPolicy = {
      ...valid,
      minimumNumberOfCalls: valid.permittedNumberOfCallsInHalfOpenState,
    };
    this.#core = {
      config: valid,
      closedPolicy: valid,
      halfOpenPolicy,
      closedWindow: Object.freeze({
        calls: "sliding-window",
        atOpening: false,
        minimumNumberOfCalls: valid.minimumNumberOfCalls,
      }),
      trialWindow: Object.freeze({
        calls: "half-open-trials",
        atOpening: false,
        minimumNumberOfCalls: halfOpenPolicy.minimumNumberOfCalls,
      }),
      countBased: valid.slidingWindowType === "COUNT_BASED",
      now,
      newWindow: () =>
        valid.slidingWindowType === "TIME_BASED"
          ? createTimeWindow(valid.slidingWindowSize, now)
          : createCountWindow(valid.slidingWindowSize),
      reject: (retryAfterMs) => this.#reject(retryAfterMs),
      trip: (live, prefix) => this.#trip(live, prefix),
      enter: (to, entry) => this.#enter(to, entry),
      emit: (body) => this.#emit(body),
      schedule: (ms, fn) => this.#schedule(ms, fn),
      clearTimeout: (handle) => clock.clearTimeout(handle),
      ttlRemaining: () => this.#ttlRemaining(),
      stateSince: () => this.#stateSince,
      countOpening: () => ++this.#consecutiveOpenings,
      random: this.#random,
    };
    this.#stateSince = this.#wallNow();
    this.#state = closedState(this.#core);
    this.#running = createRunningCalls({
      thresholdMs: valid.slowCallDurationThreshold,
      now,
      clock,
      onSlow: (call) => this.#countSlowWhileRunning(call),
    });
    this.#hub = createEventHub({
      breakerName: name,
      bufferSize: valid.eventBufferSize,
      now,
      ...(clock.wallNow ? { wallNow: this.#wallNow } : {}),
      state: () => this.#state.kind,
      ...(options.onListenerError ? { onListenerError: options.onListenerError } : {}),
    });
  }

  /** The current state (a deadline that fell due without its timer is applied first). */
  get state(): BreakerState {
    this.#running.poll(this.#now());
    if (this.#state.kind !== "CLOSED") this.#held(() => this.#applyDeadlines());
    return this.#state.kind;
  }

  /**
   * Runs `fn` if the breaker permits it and records the outcome; fn's result or error passes
   * through unchanged. Rejects with CallNotPermittedError without calling fn otherwise.
   */
  execute<T>(fn: () => Promise<T>): Promise<T> {
    // Plain promise chaining rather than async/await: one promise and two microtasks fewer per
    // call, which is most of the breaker's own overhead.
    if (typeof fn !== "function") {
      return Promise.reject(new TypeError(`execute needs a function, got ${typeof fn}`));
    }
    const start = this.#now();
    // A call that ran past the threshold with its timer late counts first: it may open the
    // breaker, and then this call is refused.
    this.#running.poll(start);
    let generation: number;
    try {
      generation = this.#state.kind === "CLOSED" ? this.#generation : this.#held(this.#acquire);
    } catch (notPermitted) {
      return Promise.reject(notPermitted);
    }
    const call = this.#running.admit(generation, start, this.#state.window !== null);
    let pending: Promise<T>;
    try {
      pending = Promise.resolve(fn());
    } catch (error) {
      this.#settle(call, true, error);
      return Promise.reject(error);
    }
    return pending.then(
      (value) => {
        this.#settle(call, false, undefined);
        return value;
      },
      (error) => {
        this.#settle(call, true, error);
        throw error;
      },
    );
  }

  /**
   * Whether a call made now would be refused because the breaker is OPEN or FORCED_OPEN; if so,
   * the refusal is counted and published exactly as `execute` counts it (not-permitted total, a
   * NOT_PERMITTED event). For callers that skip preparing work the breaker would refuse. In every
   * other state nothing is counted or reserved (a HALF_OPEN trial is taken by `execute` only).
   */
  refuses(): boolean {
    this.#running.poll(this.#now());
    if (this.#state.kind === "CLOSED") return false;
    return this.#held(this.#refusesHeld);
  }

  #refusesHeld(): boolean {
    this.#applyDeadlines();
    const s = this.#state;
    if (!REFUSING_STATES.has(s.kind)) return false;
    this.#countRefusal(s.retryAfterMs());
    return true;
  }

  /**
   * Operator transition. Throws IllegalTransitionError for the three Resilience4j-forbidden moves
   * and TypeError for an unknown state. A self-transition keeps state and window and emits
   * nothing; with ttlMs it re-arms the TTL (extending a maintenance window).
   */
  transitionTo(state: BreakerState, options: TransitionOptions = {}): void {
    if (!isBreakerState(state)) {
      throw new TypeError(
        `unknown breaker state ${JSON.stringify(state)}; expected one of ${
          BREAKER_STATES.join(", ")
        }`,
      );
    }
    const { reason, ttlMs } = options;
    if (reason !== undefined && typeof reason !== "string") {
      throw new TypeError(`reason must be a string, got ${typeof reason}`);
    }
    if (ttlMs !== undefined && (!Number.isInteger(ttlMs) || ttlMs < 1 || ttlMs > MAX_TIMER_MS)) {
      throw new RangeError(`ttlMs must be an integer in [1, ${MAX_TIMER_MS}], got ${ttlMs}`);
    }
    this.#held(() => {
      this.#applyDeadlines();
      const from = this.#state.kind;
      if (!isLegalTransition(from, state)) {
        throw new IllegalTransitionError(from, state, allowedTargets(from));
      }
      if (from !== state) {
        this.#enter(state, { reason: reason ?? null, operator: true, ttlMs });
      } else if (ttlMs !== undefined && state !== "CLOSED") {
        this.#armTtl(ttlMs);
      }
    });
  }

  /** Back to CLOSED with a fresh window and no backoff history; all-time totals are kept. */
  reset(): void {
    this.#held(() => {
      this.#enter("CLOSED", { reason: "reset", operator: true });
      this.#emit({ type: "RESET" });
    });
  }

  /** A plain, JSON-serialisable view of state, rates, counters and config. */
  snapshot(): BreakerSnapshot {
    this.#running.poll(this.#now());
    if (this.#state.kind !== "CLOSED") this.#held(() => this.#applyDeadlines());
    const s = this.#state;
    const { counts, health, window } = s.stats();
    return {
      name: this.name,
      state: s.kind,
      generation: this.#generation,
      stateSince: this.#stateSince,
      failureRate: health.failureRate,
      slowCallRate: health.slowCallRate,
      rateWindow: { ...window },
      bufferedCalls: counts.total,
      failedCalls: counts.failed,
      slowCalls: counts.slow,
      slowFailedCalls: counts.slowFailed,
      successfulCalls: counts.total - counts.failed,
      notPermittedCalls: this.#totals.notPermitted,
      totals: { ...this.#totals },
      openedAt: s.openedAt,
      retryAfterMs: s.retryAfterMs(),
      ttlExpiresAt: this.#ttl?.expiresAtWall ?? null,
      halfOpenTrialsInFlight: s.trialsInFlight(),
      consecutiveOpenings: this.#consecutiveOpenings,
      config: configSnapshot(this.#config),
    };
  }

  /** Registers a listener for every future event; returns the unsubscribe function. */
  subscribe(listener: BreakerEventListener): () => void {
    return this.#hub.subscribe(listener);
  }

  /** Recent events from the bounded history, newest last. */
  recentEvents(filter?: RecentEventsFilter): BreakerEvent[] {
    return this.#hub.recent(filter);
  }

  /**
   * Cancels every timer and schedules no new ones (for shutdown and tests). The breaker still
   * answers calls, and every deadline still holds: the OPEN wait, the half-open limit and an
   * operator's TTL are applied at the next call, snapshot, state read or transition after they
   * fall due, instead of by timer. Listeners stay subscribed.
   */
  dispose(): void {
    this.#disposed = true;
    this.#state.leave();
    this.#clearTtl();
    this.#running.dispose();
  }

  /** Runs `fn` with event delivery held, so listeners see the breaker only once it settled. */
  #held<T>(fn: () => T): T {
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
  #applyDeadlines(): void {
    const s = this.#state;
    const ttl = this.#ttl?.expiresAt ?? Infinity;
    const now = this.#now();
    if (ttl <= s.deadline && now >= ttl) {
      this.#enter("CLOSED", { reason: "ttl expired", operator: false });
    } else if (now >= s.deadline) {
      s.expire();
    }
  }

  /**
   * Admits a call in any state but CLOSED (execute admits those itself) or throws
   * CallNotPermittedError; returns the generation the call belongs to.
   */
  #acquire(): number {
    this.#applyDeadlines();
    this.#state.admit();
    return this.#generation;
  }

  #reject(retryAfterMs: number | null): never {
    this.#countRefusal(retryAfterMs);
    throw new CallNotPermittedError(this.name, this.#state.kind, retryAfterMs);
  }

  /** A refused call: counted in the totals and published as a NOT_PERMITTED event. */
  #countRefusal(retryAfterMs: number | null): void {
    this.#totals.notPermitted++;
    this.#hub.publishCall("NOT_PERMITTED", this.#now(), 0, false, false, "", retryAfterMs);
  }

  /** #held spelled out: no closure on the per-call path. */
  #settle(call: RunningCall, threw: boolean, error: unknown): void {
    this.#running.settle(call);
    this.#hub.hold();
    try {
      this.#record(call, threw, error);
    } finally {
      this.#hub.release();
    }
  }

  /** Counts a finished call in the totals, the history and (if still current) the window. */
  #record(call: RunningCall, threw: boolean, error: unknown): void {
    const end = this.#now();
    const durationMs = Math.max(0, end - call.start);
    const slow = durationMs > this.#config.slowCallDurationThreshold;
    const current = call.generation === this.#generation;
    const kind = threw ? this.#classify(error) : "success";
    const s = this.#state;
    if (current && s.trials) s.release(kind === "ignored" && call.slowEntry === null);

    const late = !current;
    if (kind === "ignored") {
      this.#totals.ignored++;
      this.#hub.publishCall("IGNORED_ERROR", end, durationMs, late, slow, messageOf(error), null);
      return;
    }
    const failed = kind === "failure";
    if (failed) {
      if (slow) this.#totals.slowFailed++;
      else this.#totals.failed++;
      const errorMessage = messageOf(threw ? error : undefined);
      this.#hub.publishCall("ERROR", end, durationMs, late, slow, errorMessage, null);
    } else {
      if (slow) this.#totals.slowSuccessful++;
      else this.#totals.successful++;
      this.#hub.publishCall("SUCCESS", end, durationMs, late, slow, "", null);
    }
    if (current) {
      this.#count(
        failed ? (slow ? SLOW_FAILURE : FAILURE) : (slow ? SLOW_SUCCESS : SUCCESS),
        call.slowEntry,
      );
    }
  }

  /**
   * A call of the current generation ran past the slow-call threshold and is still running: it
   * takes its one window entry now, as a slow success (#count turns it into a slow failure if it
   * fails). Told by #running at most once per call, and never after the call settled.
   */
  #countSlowWhileRunning(call: RunningCall): void {
    if (call.generation !== this.#generation) return;
    const s = this.#state;
    if (s.window === null) return;
    this.#hub.hold();
    try {
      const counts = s.window.record(SLOW_SUCCESS);
      call.slowEntry = s.window.lastEntry();
      s.judge(counts, SLOW_SUCCESS);
    } finally {
      this.#hub.release();
    }
  }

  /**
   * Adds a completed call's outcome to the current state's window and acts on the verdict. A
   * call counted slow while running (`slowEntry`) has its entry already: a failure turns it into
   * a slow failure, while it is still in the window; anything else leaves it as it is.
   */
  #count(outcome: CallOutcome, slowEntry: number | null): void {
    const s = this.#state;
    const window = s.window;
    if (window === null) return;
    if (slowEntry === null) {
      s.judge(window.record(outcome), outcome);
    } else if (outcome.failed) {
      const counts = window.replace(slowEntry, SLOW_SUCCESS, SLOW_FAILURE);
      if (counts !== null) s.judge(counts, SLOW_FAILURE);
    }
  }

  /** Ignore wins over record; a throwing predicate must not hide a failure, so it means "record". */
  #classify(error: unknown): "ignored" | "failure" | "success" {
    try {
      if (this.#config.ignoreError?.(error) === true) return "ignored";
    } catch {
      // fall through: treat as not ignored
    }
    try {
      return this.#config.recordError === undefined || this.#config.recordError(error)
        ? "failure"
        : "success";
    } catch {
      return "failure";
    }
  }

  #trip(live: WindowStats, prefix: string): void {
    const { health } = live;
    // record() hands out a live view; the stats that opened the breaker are kept as a copy.
    const stats: WindowStats = { ...live, counts: Object.freeze({ ...live.counts }) };
    if (health.failureRateExceeded && health.failureRate !== null) {
      this.#emit({ type: "FAILURE_RATE_EXCEEDED", rate: health.failureRate });
    }
    if (health.slowCallRateExceeded && health.slowCallRate !== null) {
      this.#emit({ type: "SLOW_CALL_RATE_EXCEEDED", rate: health.slowCallRate });
    }
    this.#enter("OPEN", {
      reason: prefix + exceededReason(health, this.#config),
      operator: false,
      trippedBy: stats,
    });
  }

  #enter(to: BreakerState, how: Entry): void {
    const from = this.#state.kind;
    // Only OPEN shows the stats it was entered with; computing them is otherwise wasted.
    const left = to === "OPEN" ? how.trippedBy ?? this.#state.stats() : NO_STATS;
    this.#state.leave();
    this.#clearTtl();
    // Calls still running belong to the state that ends: late, never counted in the next one.
    this.#running.clear();
    this.#generation++;
    this.#stateSince = this.#wallNow();
    if (to === "CLOSED") this.#consecutiveOpenings = 0;
    this.#state = STATES[to](this.#core, left);
    if (how.ttlMs !== undefined && to !== "CLOSED") this.#armTtl(how.ttlMs);
    if (from !== to) {
      this.#emit({
        type: "STATE_TRANSITION",
        from,
        to,
        reason: how.reason,
        operator: how.operator,
      });
    }
  }

  /** Timers are bound to the generation that set them, so a stale timer can never act. */
  #schedule(ms: number, fn: () => void): unknown {
    if (this.#disposed) return null;
    const generation = this.#generation;
    return this.#clock.setTimeout(() => {
      if (!this.#disposed && this.#generation === generation) this.#held(fn);
    }, ms);
  }

  #armTtl(ttlMs: number): void {
    this.#clearTtl();
    // Disposed: no timer, the TTL is applied lazily (#applyDeadlines).
    const handle = this.#schedule(ttlMs, () => {
      this.#enter("CLOSED", { reason: "ttl expired", operator: false });
    });
    this.#ttl = {
      handle,
      expiresAt: this.#now() + ttlMs,
      expiresAtWall: this.#wallNow() + ttlMs,
    };
  }

  #ttlRemaining(): number | null {
    return this.#ttl === null ? null : msUntil(this.#ttl.expiresAt, this.#now());
  }

  #clearTtl(): void {
    if (this.#ttl !== null && this.#ttl.handle !== null) this.#clock.clearTimeout(this.#ttl.handle);
    this.#ttl = null;
  }

  #emit(body: BreakerEventBody): void {
    this.#hub.publish(body);
  }
}
