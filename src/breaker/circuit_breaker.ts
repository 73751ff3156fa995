/** The circuit breaker state machine: admits or rejects calls and moves between the seven states. */

import { type Clock, MAX_TIMER_MS, realClock, steady } from "./clock.ts";
import {
  type BreakerConfig,
  type BreakerConfigSnapshot,
  configSnapshot,
  validateBreakerConfig,
} from "./config.ts";
import { CallNotPermittedError, IllegalTransitionError } from "./errors.ts";
import { createEventHub, type EventHub } from "./event_hub.ts";
import { createRunningCalls, type RunningCall, type RunningCalls } from "./running_calls.ts";
import type {
  BreakerEvent,
  BreakerEventBody,
  BreakerEventListener,
  RecentEventsFilter,
} from "./events.ts";
import {
  evaluateHealth,
  halfOpenVerdict,
  type HealthPolicy,
  isUnhealthy,
  type WindowHealth,
} from "./health.ts";
import {
  allowedTargets,
  BREAKER_STATES,
  type BreakerState,
  isBreakerState,
  isLegalTransition,
  REFUSING_STATES,
} from "./states.ts";
import {
  type CallOutcome,
  createCountWindow,
  createTimeWindow,
  EMPTY_COUNTS,
  type SlidingWindow,
  type WindowCounts,
} from "./window.ts";

/** Re-exported so callers need only this module for the breaker's public types. */
export type { BreakerConfig, BreakerEvent, BreakerState, Clock };

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

/**
 * All-time counters; each settled execute() lands in exactly one bucket, so a slow success is
 * counted in slowSuccessful only, not also in successful.
 */
export interface BreakerTotals {
  successful: number;
  failed: number;
  slowSuccessful: number;
  slowFailed: number;
  ignored: number;
  notPermitted: number;
}

/** What a snapshot's rates were computed over, so that a reader can explain them. */
export interface RateWindow {
  /**
   * `sliding-window`: the state's window of recent calls; `half-open-trials`: the trial calls of a
   * half-open period; `none`: the state records no window (DISABLED, FORCED_OPEN).
   */
  readonly calls: "sliding-window" | "half-open-trials" | "none";
  /** True in OPEN: the rates are those of the calls that opened the breaker, kept while it waits. */
  readonly atOpening: boolean;
  /** The rates are null while the window holds fewer calls than this. */
  readonly minimumNumberOfCalls: number;
}

/** A JSON-serialisable view for the admin API and metrics. */
export interface BreakerSnapshot {
  name: string;
  state: BreakerState;
  /** Incremented on every state entry (and reset); results of older generations skip the window. */
  generation: number;
  /** Wall-clock epoch ms when the current state was entered. */
  stateSince: number;
  /** Percent 0-100 over the current window; null below the minimum number of calls. */
  failureRate: number | null;
  slowCallRate: number | null;
  /** What the two rates and the window counts below cover. */
  rateWindow: RateWindow;
  /** Window counts, Resilience4j-style: failedCalls and slowCalls both include slowFailedCalls. */
  bufferedCalls: number;
  failedCalls: number;
  slowCalls: number;
  slowFailedCalls: number;
  successfulCalls: number;
  /** All-time, same as totals.notPermitted. */
  notPermittedCalls: number;
  totals: BreakerTotals;
  /** Wall-clock epoch ms when the current OPEN period began; null in any other state. */
  openedAt: number | null;
  /** Remaining OPEN wait, or remaining TTL in FORCED_OPEN; null when no end is scheduled. */
  retryAfterMs: number | null;
  /** Wall-clock epoch ms at which an operator's TTL returns the breaker to CLOSED. */
  ttlExpiresAt: number | null;
  halfOpenTrialsInFlight: number;
  /** Openings since the breaker was last CLOSED; drives the backoff. */
  consecutiveOpenings: number;
  config: BreakerConfigSnapshot;
}

/** A window's counts with the verdict of its policy. */
interface WindowStats {
  readonly counts: WindowCounts;
  readonly health: WindowHealth;
  readonly window: RateWindow;
}

/** Each state carries only what it needs; timers are cleared when the state is left. */
type StateData =
  | { readonly kind: "CLOSED"; readonly window: SlidingWindow }
  | {
    readonly kind: "OPEN";
    /** Wall clock, for people. */
    readonly openedAt: number;
    /** Monotonic: when the wait ends. */
    readonly retryAt: number;
    /** The stats that opened the breaker, shown while OPEN instead of an empty window. */
    readonly trippedBy: WindowStats;
    timer: unknown;
  }
  | {
    readonly kind: "HALF_OPEN";
    readonly window: SlidingWindow;
    /** Monotonic: undecided by then -> OPEN. */
    readonly deadline: number;
    /** Trials admitted and not released; reaching the permit count closes admission. */
    admitted: number;
    inFlight: number;
    timer: unknown;
  }
  | { readonly kind: "DISABLED" }
  | {
    readonly kind: "METRICS_ONLY";
    readonly window: SlidingWindow;
    failureExceeded: boolean;
    slowExceeded: boolean;
  }
  | { readonly kind: "FORCED_OPEN" }
  | { readonly kind: "FORCED_HALF_OPEN"; readonly window: SlidingWindow; inFlight: number };

// The four outcomes, shared instead of allocated per call.
const SUCCESS: CallOutcome = Object.freeze({ failed: false, slow: false });
const SLOW_SUCCESS: CallOutcome = Object.freeze({ failed: false, slow: true });
const FAILURE: CallOutcome = Object.freeze({ failed: true, slow: false });
const SLOW_FAILURE: CallOutcome = Object.freeze({ failed: true, slow: true });

const NO_STATS: WindowStats = Object.freeze({
  counts: EMPTY_COUNTS,
  health: Object.freeze({
    failureRate: null,
    slowCallRate: null,
    failureRateExceeded: false,
    slowCallRateExceeded: false,
  }),
  window: Object.freeze({ calls: "none", atOpening: false, minimumNumberOfCalls: 0 }),
});

const MAX_ERROR_MESSAGE = 1_000;

const pct = (rate: number | null): string => `${Math.round((rate ?? 0) * 10) / 10}%`;

const messageOf = (error: unknown): string => {
  try {
    const text = error instanceof Error ? error.message : String(error);
    return text.length > MAX_ERROR_MESSAGE ? `${text.slice(0, MAX_ERROR_MESSAGE)}...` : text;
  } catch {
    return "(unprintable error)";
  }
};

/** Whole ms left until `deadline`, rounded up so a client told to retry after it is never early. */
const msUntil = (deadline: number, now: number): number => Math.max(0, Math.ceil(deadline - now));

const exceededReason = (health: WindowHealth, config: BreakerConfig): string =>
  [
    health.failureRateExceeded
      ? `failure rate ${pct(health.failureRate)} >= ${config.failureRateThreshold}%`
      : null,
    health.slowCallRateExceeded
      ? `slow call rate ${pct(health.slowCallRate)} >= ${config.slowCallRateThreshold}%`
      : null,
  ].filter((s) => s !== null).join(", ");

/** The window a state records outcomes in; null for the states that keep none. */
function windowOf(d: StateData): SlidingWindow | null {
  switch (d.kind) {
    case "CLOSED":
    case "HALF_OPEN":
    case "METRICS_ONLY":
    case "FORCED_HALF_OPEN":
      return d.window;
    case "OPEN":
    case "DISABLED":
    case "FORCED_OPEN":
      return null;
  }
}

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
  readonly #closedPolicy: HealthPolicy;
  readonly #countBased: boolean;
  readonly #halfOpenPolicy: HealthPolicy;
  readonly #closedWindow: RateWindow;
  readonly #trialWindow: RateWindow;
  readonly #running: RunningCalls;
  readonly #totals: BreakerTotals = {
    successful: 0,
    failed: 0,
    slowSuccessful: 0,
    slowFailed: 0,
    ignored: 0,
    notPermitted: 0,
  };
  #data: StateData;
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
    this.#config = validateBreakerConfig(config);
    const clock = options.clock ?? realClock;
    this.#clock = clock;
    // performance.now() cannot step back; an injected clock might, so it is guarded.
    this.#now = clock === realClock ? () => performance.now() : steady(() => clock.now());
    this.#wallNow = clock.wallNow ? () => clock.wallNow!() : this.#now;
    this.#random = options.random ?? Math.random;
    this.#closedPolicy = this.#config;
    this.#countBased = this.#config.slidingWindowType === "COUNT_BASED";
    // Half-open judges exactly the trial calls, so its minimum is the trial count.
    this.#halfOpenPolicy = {
      ...this.#config,
      minimumNumberOfCalls: this.#config.permittedNumberOfCallsInHalfOpenState,
    };
    this.#closedWindow = Object.freeze({
      calls: "sliding-window",
      atOpening: false,
      minimumNumberOfCalls: this.#config.minimumNumberOfCalls,
    });
    this.#trialWindow = Object.freeze({
      calls: "half-open-trials",
      atOpening: false,
      minimumNumberOfCalls: this.#halfOpenPolicy.minimumNumberOfCalls,
    });
    this.#data = { kind: "CLOSED", window: this.#newWindow() };
    this.#running = createRunningCalls({
      thresholdMs: this.#config.slowCallDurationThreshold,
      now: this.#now,
      clock,
      onSlow: (call) => this.#countSlowWhileRunning(call),
    });
    this.#stateSince = this.#wallNow();
    this.#hub = createEventHub({
      breakerName: name,
      bufferSize: this.#config.eventBufferSize,
      now: this.#now,
      ...(clock.wallNow ? { wallNow: this.#wallNow } : {}),
      state: () => this.#data.kind,
      ...(options.onListenerError ? { onListenerError: options.onListenerError } : {}),
    });
  }

  /** The current state (a deadline that fell due without its timer is applied first). */
  get state(): BreakerState {
    this.#running.poll(this.#now());
    if (this.#data.kind !== "CLOSED") this.#held(() => this.#applyDeadlines());
    return this.#data.kind;
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
      generation = this.#data.kind === "CLOSED" ? this.#generation : this.#held(this.#acquire);
    } catch (notPermitted) {
      return Promise.reject(notPermitted);
    }
    const d = this.#data;
    const call = this.#running.admit(
      generation,
      start,
      d.kind === "CLOSED" || windowOf(d) !== null,
    );
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
    if (this.#data.kind === "CLOSED") return false;
    return this.#held(this.#refusesHeld);
  }

  #refusesHeld(): boolean {
    this.#applyDeadlines();
    const d = this.#data;
    if (!REFUSING_STATES.has(d.kind)) return false;
    this.#countRefusal(d.kind === "OPEN" ? msUntil(d.retryAt, this.#now()) : this.#ttlRemaining());
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
      const from = this.#data.kind;
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
    if (this.#data.kind !== "CLOSED") this.#held(() => this.#applyDeadlines());
    const d = this.#data;
    const now = this.#now();
    const { counts, health, window } = this.#stats();
    let retryAfterMs: number | null = null;
    if (d.kind === "OPEN") retryAfterMs = msUntil(d.retryAt, now);
    else if (d.kind === "FORCED_OPEN") retryAfterMs = this.#ttlRemaining();
    return {
      name: this.name,
      state: d.kind,
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
      openedAt: d.kind === "OPEN" ? d.openedAt : null,
      retryAfterMs,
      ttlExpiresAt: this.#ttl?.expiresAtWall ?? null,
      halfOpenTrialsInFlight: d.kind === "HALF_OPEN" || d.kind === "FORCED_HALF_OPEN"
        ? d.inFlight
        : 0,
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
    this.#clearStateTimer();
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
    const d = this.#data;
    const own = d.kind === "OPEN" ? d.retryAt : d.kind === "HALF_OPEN" ? d.deadline : Infinity;
    const ttl = this.#ttl?.expiresAt ?? Infinity;
    const now = this.#now();
    if (ttl <= own && now >= ttl) {
      this.#enter("CLOSED", { reason: "ttl expired", operator: false });
    } else if (now >= own && d.kind === "OPEN") {
      this.#enter("HALF_OPEN", { reason: "open wait elapsed", operator: false });
    } else if (now >= own && d.kind === "HALF_OPEN") {
      this.#enter("OPEN", {
        reason: `half-open undecided after ${this.#config.maxWaitDurationInHalfOpenState} ms`,
        operator: false,
      });
    }
  }

  /**
   * Admits a call in any state but CLOSED (execute admits those itself) or throws
   * CallNotPermittedError; returns the generation the call belongs to.
   */
  #acquire(): number {
    this.#applyDeadlines();
    const d = this.#data;
    switch (d.kind) {
      case "OPEN":
        return this.#reject(msUntil(d.retryAt, this.#now()));
      case "FORCED_OPEN":
        return this.#reject(this.#ttlRemaining());
      case "HALF_OPEN":
        if (d.admitted >= this.#config.permittedNumberOfCallsInHalfOpenState) {
          return this.#reject(null);
        }
        d.admitted++;
        d.inFlight++;
        break;
      case "FORCED_HALF_OPEN":
        if (d.inFlight >= this.#config.permittedNumberOfCallsInHalfOpenState) {
          return this.#reject(null);
        }
        d.inFlight++;
        break;
      case "CLOSED":
      case "DISABLED":
      case "METRICS_ONLY":
        break;
    }
    return this.#generation;
  }

  #reject(retryAfterMs: number | null): never {
    this.#countRefusal(retryAfterMs);
    throw new CallNotPermittedError(this.name, this.#data.kind, retryAfterMs);
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
    const d = this.#data;

    if (current && (d.kind === "HALF_OPEN" || d.kind === "FORCED_HALF_OPEN")) {
      d.inFlight--;
      // An ignored trial says nothing about health, so its permit goes to another trial; one
      // already counted as slow while running has been judged, and keeps its permit.
      if (kind === "ignored" && d.kind === "HALF_OPEN" && call.slowEntry === null) d.admitted--;
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
    if (call.generation !== this.#generation) return;
    const window = windowOf(this.#data);
    if (window === null) return;
    this.#hub.hold();
    try {
      const counts = window.record(SLOW_SUCCESS);
      call.slowEntry = window.lastEntry();
      this.#judge(counts, SLOW_SUCCESS);
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
    const window = windowOf(this.#data);
    if (window === null) return;
    if (slowEntry === null) {
      this.#judge(window.record(outcome), outcome);
    } else if (outcome.failed) {
      const counts = window.replace(slowEntry, SLOW_SUCCESS, SLOW_FAILURE);
      if (counts !== null) this.#judge(counts, SLOW_FAILURE);
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

  /** Acts on the current state's window after `outcome` changed it to `counts`. */
  #judge(counts: WindowCounts, outcome: CallOutcome): void {
    const d = this.#data;
    switch (d.kind) {
      case "CLOSED": {
        // In a count window a plain success cannot raise a rate once the window held the
        // minimum before it, and those rates were judged healthy then: skip the evaluation.
        if (
          !outcome.failed && !outcome.slow && this.#countBased &&
          counts.total > this.#config.minimumNumberOfCalls
        ) return;
        const health = evaluateHealth(counts, this.#closedPolicy);
        if (isUnhealthy(health)) this.#trip({ counts, health, window: this.#closedWindow }, "");
        return;
      }
      case "HALF_OPEN": {
        const trials = this.#config.permittedNumberOfCallsInHalfOpenState;
        const verdict = halfOpenVerdict(counts, this.#halfOpenPolicy, trials);
        if (verdict === "undecided") return;
        // Rates over the trials seen so far, which decided the verdict.
        const health = evaluateHealth(counts, { ...this.#halfOpenPolicy, minimumNumberOfCalls: 1 });
        if (verdict === "unhealthy") {
          const window = { ...this.#trialWindow, minimumNumberOfCalls: 1 };
          this.#trip({ counts, health, window }, "half-open trials unhealthy: ");
        } else {
          this.#enter("CLOSED", {
            reason: `half-open trials healthy (failure rate ${pct(health.failureRate)}, ` +
              `slow call rate ${pct(health.slowCallRate)})`,
            operator: false,
          });
        }
        return;
      }
      case "METRICS_ONLY": {
        const health = evaluateHealth(counts, this.#closedPolicy);
        // Edge-triggered: one event per crossing, re-armed once the rate drops below again.
        if (health.failureRateExceeded && !d.failureExceeded && health.failureRate !== null) {
          this.#emit({ type: "FAILURE_RATE_EXCEEDED", rate: health.failureRate });
        }
        if (health.slowCallRateExceeded && !d.slowExceeded && health.slowCallRate !== null) {
          this.#emit({ type: "SLOW_CALL_RATE_EXCEEDED", rate: health.slowCallRate });
        }
        d.failureExceeded = health.failureRateExceeded;
        d.slowExceeded = health.slowCallRateExceeded;
        return;
      }
      case "FORCED_HALF_OPEN":
      case "DISABLED":
      case "OPEN":
      case "FORCED_OPEN":
        return;
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

  #enter(
    to: BreakerState,
    how: { reason: string | null; operator: boolean; ttlMs?: number; trippedBy?: WindowStats },
  ): void {
    const from = this.#data.kind;
    // Only OPEN shows the stats it was entered with; computing them is otherwise wasted.
    const previousStats = to === "OPEN" ? how.trippedBy ?? this.#stats() : NO_STATS;
    this.#clearStateTimer();
    this.#clearTtl();
    // Calls still running belong to the state that ends: late, never counted in the next one.
    this.#running.clear();
    this.#generation++;
    this.#stateSince = this.#wallNow();
    if (to === "CLOSED") this.#consecutiveOpenings = 0;
    this.#data = this.#createState(to, previousStats);
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

  #createState(to: BreakerState, previousStats: WindowStats): StateData {
    const now = this.#now();
    switch (to) {
      case "CLOSED":
      case "METRICS_ONLY":
        return to === "CLOSED"
          ? { kind: to, window: this.#newWindow() }
          : { kind: to, window: this.#newWindow(), failureExceeded: false, slowExceeded: false };
      case "OPEN": {
        const wait = this.#openWait(++this.#consecutiveOpenings);
        return {
          kind: "OPEN",
          openedAt: this.#stateSince,
          retryAt: now + wait,
          trippedBy: { ...previousStats, window: { ...previousStats.window, atOpening: true } },
          timer: this.#schedule(wait, () => {
            this.#enter("HALF_OPEN", {
              reason: `open wait of ${wait} ms elapsed`,
              operator: false,
            });
          }),
        };
      }
      case "HALF_OPEN": {
        const maxWait = this.#config.maxWaitDurationInHalfOpenState;
        return {
          kind: "HALF_OPEN",
          // Trials only: a time window could age out trials while waiting for the rest.
          window: createCountWindow(this.#config.permittedNumberOfCallsInHalfOpenState),
          admitted: 0,
          inFlight: 0,
          deadline: now + maxWait,
          timer: this.#schedule(maxWait, () => {
            this.#enter("OPEN", {
              reason: `half-open undecided after ${maxWait} ms`,
              operator: false,
            });
          }),
        };
      }
      case "FORCED_HALF_OPEN":
        return { kind: to, window: this.#newWindow(), inFlight: 0 };
      case "DISABLED":
      case "FORCED_OPEN":
        return { kind: to };
    }
  }

  /** Wait of the n-th consecutive opening: fixed, or min(cap, base * multiplier^(n-1)) +- jitter. */
  #openWait(n: number): number {
    const base = this.#config.waitDurationInOpenState;
    const backoff = this.#config.openWaitBackoff;
    if (!backoff) return base;
    const capped = Math.min(backoff.maxWaitMs, base * backoff.multiplier ** (n - 1));
    const r = this.#random();
    const unit = Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : 0.5;
    const jittered = Math.round(capped * (1 + backoff.jitter * (2 * unit - 1)));
    return Math.min(MAX_TIMER_MS, Math.max(1, jittered));
  }

  #stats(): WindowStats {
    const d = this.#data;
    switch (d.kind) {
      case "CLOSED":
      case "METRICS_ONLY":
      case "FORCED_HALF_OPEN": {
        const counts = d.window.counts();
        const health = evaluateHealth(counts, this.#closedPolicy);
        return { counts, health, window: this.#closedWindow };
      }
      case "HALF_OPEN": {
        const counts = d.window.counts();
        const health = evaluateHealth(counts, this.#halfOpenPolicy);
        return { counts, health, window: this.#trialWindow };
      }
      case "OPEN":
        return d.trippedBy;
      case "DISABLED":
      case "FORCED_OPEN":
        return NO_STATS;
    }
  }

  #newWindow(): SlidingWindow {
    const { slidingWindowType, slidingWindowSize } = this.#config;
    return slidingWindowType === "TIME_BASED"
      ? createTimeWindow(slidingWindowSize, this.#now)
      : createCountWindow(slidingWindowSize);
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

  #clearStateTimer(): void {
    const d = this.#data;
    if ((d.kind === "OPEN" || d.kind === "HALF_OPEN") && d.timer !== null) {
      this.#clock.clearTimeout(d.timer);
      d.timer = null;
    }
  }

  #emit(body: BreakerEventBody): void {
    this.#hub.publish(body);
  }
}
