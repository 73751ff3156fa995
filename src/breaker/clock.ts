/** Time source injected into the breaker so every test can run in virtual time. */

/**
 * The only time primitives the breaker uses: a monotonic reading for every duration, deadline
 * and window, the wall clock for timestamps shown to people, and a one-shot timer.
 */
export interface Clock {
  /**
   * Milliseconds on a monotonic timeline (any origin): what calls are timed with. A wall-clock
   * step (NTP, VM resume) must not move it; if an injected clock goes backwards anyway, the
   * breaker treats the step as no time passing.
   */
  now(): number;
  /** Epoch milliseconds for event timestamps; defaults to now() for clocks of one timeline. */
  wallNow?(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Largest delay a JavaScript timer honours; longer delays fire immediately, so every timer-driven
 * duration is validated against it.
 */
export const MAX_TIMER_MS = 2_147_483_647;

type TimerId = ReturnType<typeof globalThis.setTimeout>;

/**
 * The process's clocks: performance.now() (monotonic) for durations, Date.now() for timestamps.
 * Its timers are unref'd so an idle breaker never keeps the process alive.
 */
export const realClock: Clock = Object.freeze({
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout(fn: () => void, ms: number): unknown {
    const id: unknown = globalThis.setTimeout(fn, ms);
    // Recent Deno returns a Node-style Timeout with unref(); older Deno a number for unrefTimer.
    const unref = (id as { unref?: unknown } | null)?.unref;
    if (typeof unref === "function") {
      unref.call(id);
    } else if (typeof id === "number") {
      const deno = (globalThis as { Deno?: { unrefTimer?: (id: number) => void } }).Deno;
      deno?.unrefTimer?.(id);
    }
    return id;
  },
  clearTimeout(handle: unknown): void {
    if (handle === null || handle === undefined) return;
    globalThis.clearTimeout(handle as TimerId);
  },
});

/**
 * Wraps a time source so its readings never decrease: a backward step is taken as no time
 * passing, and time then moves on at the source's pace from where it was. A window or deadline
 * read through it can neither freeze for the length of the step nor run backwards.
 */
export function steady(read: () => number): () => number {
  let last = -Infinity;
  let offset = 0;
  return () => {
    const t = read() + offset;
    if (t >= last) return (last = t);
    offset += last - t;
    return last;
  };
}
