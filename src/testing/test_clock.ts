/** A virtual clock for tests: time moves only when the test calls advance(), step() or jump(). */

import type { Clock } from "../breaker/clock.ts";

/** A Clock whose timers fire synchronously, in due order, while the test advances time. */
export interface TestClock extends Clock {
  wallNow(): number;
  /** Moves time forward, firing every timer that falls due on the way at its own due time. */
  advance(ms: number): void;
  /** Steps only the wall clock (an NTP step or VM resume), by `ms` forwards or backwards. */
  stepWall(ms: number): void;
  /**
   * Moves the monotonic reading by `ms`, forwards or backwards, without any time passing for
   * timers: models an injected clock that misbehaves. The wall clock moves with it.
   */
  jump(ms: number): void;
  /** Number of timers scheduled and not yet fired or cleared. */
  pendingTimers(): number;
}

interface PendingTimer {
  readonly id: number;
  /** Elapsed virtual time at which the timer fires; unaffected by jump() and stepWall(). */
  readonly due: number;
  readonly fn: () => void;
}

/** Creates a virtual clock whose readings start at `startMs` (wall and monotonic alike). */
export function createTestClock(startMs = 0): TestClock {
  // Timers run on elapsed time; the readings are elapsed time plus offsets that steps change.
  let elapsed = 0;
  let monoOffset = startMs;
  let wallOffset = startMs;
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
  const finite = (what: string, ms: number) => {
    if (!Number.isFinite(ms)) throw new RangeError(`${what} needs a finite ms, got ${ms}`);
  };

  return {
    now: () => elapsed + monoOffset,
    wallNow: () => elapsed + wallOffset,
    setTimeout(fn: () => void, ms: number): unknown {
      const id = nextId++;
      timers.set(id, { id, due: elapsed + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(handle: unknown): void {
      if (typeof handle === "number") timers.delete(handle);
    },
    advance(ms: number): void {
      if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`advance needs ms >= 0, got ${ms}`);
      const target = elapsed + ms;
      for (let t = nextDue(target); t !== undefined; t = nextDue(target)) {
        timers.delete(t.id);
        elapsed = t.due;
        t.fn();
      }
      elapsed = target;
    },
    stepWall(ms: number): void {
      finite("stepWall", ms);
      wallOffset += ms;
    },
    jump(ms: number): void {
      finite("jump", ms);
      monoOffset += ms;
      wallOffset += ms;
    },
    pendingTimers: () => timers.size,
  };
}
