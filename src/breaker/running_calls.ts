/**
 * The calls a breaker has admitted and that have not settled, in admission order, so that one
 * timer finds the calls that have run past the slow-call threshold while still running.
 *
 * Why: Resilience4j counts a slow call when it completes. Against a stalled broker a publish
 * completes only at its delivery deadline (15 s with the seed's settings), although it has been
 * slow since the threshold (5 s): waiting for completion costs the difference on every one of the
 * calls needed to trip. Here a call is told to the breaker (`onSlow`) the moment it passes the
 * threshold, once; the breaker counts it then and only amends that count when it completes.
 *
 * Cost per call: one small object and two pointer updates; no timer per call. The one timer is
 * armed for the oldest call when the first call arrives, is not cleared when calls settle, and
 * re-arms only while calls are running, so a busy breaker sets about one timer per threshold.
 */
import { type Clock, MAX_TIMER_MS } from "./clock.ts";

/** One admitted call, from admission until it settles. */
export interface RunningCall {
  /** The breaker's generation when the call was admitted. */
  readonly generation: number;
  /** Monotonic ms at admission. */
  readonly start: number;
  /**
   * The window entry the call was counted in as slow while still running (see SlidingWindow's
   * lastEntry); null while it has not been.
   */
  slowEntry: number | null;
  /** Settled; a settled call is dropped from the list when it reaches the front. */
  done: boolean;
  /** The next younger watched call. */
  next: RunningCall | null;
}

/** Options of `createRunningCalls`. */
export interface RunningCallsOptions {
  /** A call running longer than this many ms is slow (the breaker's slowCallDurationThreshold). */
  thresholdMs: number;
  /** The breaker's monotonic reading. */
  now: () => number;
  /** The breaker's injected timers. */
  clock: Pick<Clock, "setTimeout" | "clearTimeout">;
  /** Told once for each watched call that runs past the threshold, oldest first. */
  onSlow: (call: RunningCall) => void;
}

/** The calls in flight of one breaker. */
export interface RunningCalls {
  /**
   * Registers a call admitted at `start`. Only a `watched` call (one whose state keeps a window)
   * can be reported slow; every call gets the record its settlement needs.
   */
  admit(generation: number, start: number, watched: boolean): RunningCall;
  /** The call settled. */
  settle(call: RunningCall): void;
  /** Reports every call that passed the threshold by `now`: the path when a timer is late. */
  poll(now: number): void;
  /** Forgets every watched call (their state ended, so they are late) and cancels the timer. */
  clear(): void;
  /** Cancels the timer and arms no new one; poll() still reports. */
  dispose(): void;
}

/** Creates the tracker of one breaker's calls in flight. */
export function createRunningCalls(opts: RunningCallsOptions): RunningCalls {
  const { thresholdMs, now, clock, onSlow } = opts;
  let head: RunningCall | null = null;
  let tail: RunningCall | null = null;
  let timer: unknown = null;
  /** Tells the current timer from one a clock failed to cancel. */
  let timerSeq = 0;
  let disposed = false;

  const dropSettled = (): void => {
    while (head !== null && head.done) head = head.next;
    if (head === null) tail = null;
  };

  const arm = (delayMs: number): void => {
    if (disposed) return;
    const seq = ++timerSeq;
    // A threshold beyond the longest timer fires early; the sweep then re-arms for the rest.
    timer = clock.setTimeout(() => {
      if (seq !== timerSeq) return;
      timer = null;
      sweep();
    }, Math.min(MAX_TIMER_MS, Math.max(1, delayMs)));
  };

  const cancel = (): void => {
    timerSeq++;
    if (timer !== null) clock.clearTimeout(timer);
    timer = null;
  };

  /** Reports the calls past the threshold, then re-arms for the oldest one left. */
  function sweep(): void {
    const t = now();
    for (let c = head; c !== null; c = head) {
      if (c.done) {
        head = c.next;
        continue;
      }
      // Strictly longer than the threshold, as a completed call must be to count as slow.
      if (t - c.start <= thresholdMs) break;
      // Out of the list before onSlow, which may clear() it (a trip) or admit new calls.
      head = c.next;
      if (head === null) tail = null;
      onSlow(c);
    }
    dropSettled();
    if (head !== null && timer === null) arm(head.start + thresholdMs + 1 - t);
  }

  return {
    admit(generation, start, watched) {
      const call: RunningCall = { generation, start, slowEntry: null, done: false, next: null };
      if (!watched) return call;
      if (tail === null) head = call;
      else tail.next = call;
      tail = call;
      if (timer === null) arm(thresholdMs + 1);
      return call;
    },
    settle(call) {
      call.done = true;
      if (call === head) dropSettled();
    },
    poll(t) {
      if (head !== null && t - head.start > thresholdMs) sweep();
    },
    clear() {
      head = null;
      tail = null;
      cancel();
    },
    dispose() {
      disposed = true;
      cancel();
    },
  };
}
