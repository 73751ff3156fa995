/**
 * The circuit breaker's public face: admits or refuses calls and accounts for their outcomes (the
 * totals, the events, the current state's window). Which state the breaker is in and what that
 * state does are the state machine's (state_machine.ts) and the state modules' business.
 */

import { type Clock, MAX_TIMER_MS, realClock, steady } from "./clock.ts";
import { type BreakerConfig, validateBreakerConfig } from "./config.ts";
import { classifyError, messageOf } from "./error_policy.ts";
import { createEventHub, type EventHub } from "./event_hub.ts";
import type { BreakerEvent, BreakerEventListener, RecentEventsFilter } from "./events.ts";
import { createRunningCalls, type RunningCall, type RunningCalls } from "./running_calls.ts";
import type { BreakerSnapshot, BreakerTotals, RateWindow } from "./snapshot.ts";
import { StateMachine } from "./state_machine.ts";
import { BREAKER_STATES, type BreakerState, isBreakerState } from "./states.ts";
import type { CallOutcome } from "./window.ts";

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
  /** Monotonic reading that never goes back, whatever the injected clock does. */
  readonly #now: () => number;
  readonly #hub: EventHub;
  readonly #running: RunningCalls;
  readonly #machine: StateMachine;
  readonly #totals: BreakerTotals = {
    successful: 0,
    failed: 0,
    slowSuccessful: 0,
    slowFailed: 0,
    ignored: 0,
    notPermitted: 0,
  };

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
    this.#config = validateBreakerConfig(config);
    const clock = options.clock ?? realClock;
    // performance.now() cannot step back; an injected clock might, so it is guarded.
    const now = clock === realClock ? () => performance.now() : steady(() => clock.now());
    const wallNow = clock.wallNow ? () => clock.wallNow!() : now;
    this.#now = now;
    this.#running = createRunningCalls({
      thresholdMs: this.#config.slowCallDurationThreshold,
      now,
      clock,
      onSlow: (call) => this.#countSlowWhileRunning(call),
    });
    this.#hub = createEventHub({
      breakerName: name,
      bufferSize: this.#config.eventBufferSize,
      now,
      ...(clock.wallNow ? { wallNow } : {}),
      state: () => this.#machine.state.kind,
      ...(options.onListenerError ? { onListenerError: options.onListenerError } : {}),
    });
    this.#machine = new StateMachine({
      name,
      config: this.#config,
      clock,
      now,
      wallNow,
      random: options.random ?? Math.random,
      hub: this.#hub,
      running: this.#running,
      totals: this.#totals,
    });
  }

  /** The current state (a deadline that fell due without its timer is applied first). */
  get state(): BreakerState {
    const m = this.#machine;
    this.#running.poll(this.#now());
    if (m.state.kind !== "CLOSED") m.held(m.applyDeadlines);
    return m.state.kind;
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
    const m = this.#machine;
    const start = this.#now();
    // A call that ran past the threshold with its timer late counts first: it may open the
    // breaker, and then this call is refused.
    this.#running.poll(start);
    let generation: number;
    try {
      generation = m.state.kind === "CLOSED" ? m.generation : m.held(m.acquire);
    } catch (notPermitted) {
      return Promise.reject(notPermitted);
    }
    const call = this.#running.admit(generation, start, m.state.window !== null);
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
    const m = this.#machine;
    this.#running.poll(this.#now());
    if (m.state.kind === "CLOSED") return false;
    return m.held(m.refuses);
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
    this.#machine.transition(state, reason ?? null, ttlMs);
  }

  /** Back to CLOSED with a fresh window and no backoff history; all-time totals are kept. */
  reset(): void {
    this.#machine.reset();
  }

  /** A plain, JSON-serialisable view of state, rates, counters and config. */
  snapshot(): BreakerSnapshot {
    const m = this.#machine;
    this.#running.poll(this.#now());
    if (m.state.kind !== "CLOSED") m.held(m.applyDeadlines);
    return m.snapshot();
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
    this.#machine.dispose();
    this.#running.dispose();
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
    const m = this.#machine;
    const current = call.generation === m.generation;
    const kind = threw ? classifyError(this.#config, error) : "success";
    if (current && m.state.kind !== "CLOSED") {
      m.state.settled(kind === "ignored" && call.slowEntry === null);
    }

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
    const m = this.#machine;
    if (call.generation !== m.generation) return;
    const window = m.state.window;
    if (window === null) return;
    this.#hub.hold();
    try {
      const counts = window.record(SLOW_SUCCESS);
      call.slowEntry = window.lastEntry();
      m.state.judge(counts, SLOW_SUCCESS);
    } finally {
      this.#hub.release();
    }
  }

  /**
   * Adds a completed call's outcome to the current state's window and lets the state act on it.
   * A call counted slow while running (`slowEntry`) has its entry already: a failure turns it
   * into a slow failure, while it is still in the window; anything else leaves it as it is.
   */
  #count(outcome: CallOutcome, slowEntry: number | null): void {
    const state = this.#machine.state;
    const window = state.window;
    if (window === null) return;
    if (slowEntry === null) {
      state.judge(window.record(outcome), outcome);
    } else if (outcome.failed) {
      const counts = window.replace(slowEntry, SLOW_SUCCESS, SLOW_FAILURE);
      if (counts !== null) state.judge(counts, SLOW_FAILURE);
    }
  }
}
