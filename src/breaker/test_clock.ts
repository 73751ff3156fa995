/** A virtual clock for tests: time moves only when the test calls advance(). */

import type { Clock } from "./clock.ts";

/** A Clock whose timers fire synchronously, in due order, while the test advances time. */
export interface TestClock extends Clock {
  /** Moves time forward, firing every timer that falls due on the way at its own due time. */
  advance(ms: number): void;
  /** Number of timers scheduled and not yet fired or cleared. */
  pendingTimers(): number;
}

interface PendingTimer {
  readonly id: number;
  readonly due: number;
  readonly fn: () => void;
}

/** Creates a virtual clock starting at `startMs` (epoch milliseconds). */
export function createTestClock(startMs = 0): TestClock {
  let now = startMs;
  let nextId = 1;
  const timers = new Map<number, PendingTimer>();

  const nextDue = (limit: number): PendingTimer | undefined => {
    let best: PendingTimer | undefined;
    for (const t of timers.values()) {
      if (t.due > limit) continue;
      // Equal due times fire in scheduling order, like real timers.
      if (best === undefined || t.due < best.due || (t.due === best.due && t.id < best.id)) {
        best = t;
      }
    }
    return best;
  };

  return {
    now: () => now,
    setTimeout(fn: () => void, ms: number): unknown {
      const id = nextId++;
      timers.set(id, { id, due: now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(handle: unknown): void {
      if (typeof handle === "number") timers.delete(handle);
    },
    advance(ms: number): void {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance needs ms >= 0, got ${ms}`);
      const target = now + ms;
      for (let t = nextDue(target); t !== undefined; t = nextDue(target)) {
        timers.delete(t.id);
        now = t.due;
        t.fn();
      }
      now = target;
    },
    pendingTimers: () => timers.size,
  };
}
