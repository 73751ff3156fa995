/** Time source injected into the breaker so every test can run in virtual time. */

/** Milliseconds since the epoch plus a one-shot timer, the only time primitives the breaker uses. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Largest delay a JavaScript timer honours; longer delays fire immediately, so every timer-driven
 * duration is validated against it.
 */
export const MAX_TIMER_MS = 2_147_483_647;

type TimerId = ReturnType<typeof globalThis.setTimeout>;

/** The wall clock; its timers are unref'd so an idle breaker never keeps the process alive. */
export const realClock: Clock = Object.freeze({
  now: () => Date.now(),
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
