/** Sliding windows of call outcomes: the last N calls, or the calls of the last N seconds. */

import { steady } from "./clock.ts";

/** What one finished call contributes to a window. */
export interface CallOutcome {
  readonly failed: boolean;
  readonly slow: boolean;
}

/**
 * Aggregates over a window, with Resilience4j's overlapping meaning: `failed` includes slow
 * failures and `slow` includes them too; successful = total - failed.
 */
export interface WindowCounts {
  readonly total: number;
  readonly failed: number;
  readonly slow: number;
  readonly slowFailed: number;
}

/** A window that accepts outcomes and reports its current aggregates. */
export interface SlidingWindow {
  /**
   * Adds one outcome and returns the aggregates as a live read-only view, valid until the next
   * record (no allocation on the per-call path); use counts() for a copy to keep.
   */
  record(outcome: CallOutcome): WindowCounts;
  /** Where the latest record went: a handle for `replace`, valid while that outcome is held. */
  lastEntry(): number;
  /**
   * Replaces the outcome `from` recorded at `entry` with `to` and returns the aggregates as
   * record does; null (and nothing changed) once that outcome has left the window.
   */
  replace(entry: number, from: CallOutcome, to: CallOutcome): WindowCounts | null;
  /** Current aggregates; for a time window this first drops buckets that have aged out. */
  counts(): WindowCounts;
}

/** The aggregates of a window that holds nothing. */
export const EMPTY_COUNTS: WindowCounts = Object.freeze({
  total: 0,
  failed: 0,
  slow: 0,
  slowFailed: 0,
});

interface MutableCounts {
  total: number;
  failed: number;
  slow: number;
  slowFailed: number;
}

const zero = (): MutableCounts => ({ total: 0, failed: 0, slow: 0, slowFailed: 0 });

const add = (c: MutableCounts, o: CallOutcome, sign: 1 | -1): void => {
  c.total += sign;
  if (o.failed) c.failed += sign;
  if (o.slow) c.slow += sign;
  if (o.failed && o.slow) c.slowFailed += sign;
};

/** How many of the outcomes counted in `c` are exactly `o`. */
const countOf = (c: MutableCounts, o: CallOutcome): number => {
  if (o.failed && o.slow) return c.slowFailed;
  if (o.failed) return c.failed - c.slowFailed;
  if (o.slow) return c.slow - c.slowFailed;
  return c.total - c.failed - c.slow + c.slowFailed;
};

const frozen = (c: MutableCounts): WindowCounts =>
  Object.freeze({ total: c.total, failed: c.failed, slow: c.slow, slowFailed: c.slowFailed });

/**
 * A ring of the last `size` outcomes; O(1) per call because totals are kept incrementally. An
 * entry is the number of outcomes recorded before it, so it is held while fewer than `size`
 * outcomes came after it.
 */
export function createCountWindow(size: number): SlidingWindow {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`count window size must be a positive integer, got ${size}`);
  }
  const ring: (CallOutcome | undefined)[] = new Array(size);
  const totals = zero();
  let next = 0;
  let recorded = 0;
  return {
    record(outcome) {
      const evicted = ring[next];
      if (evicted !== undefined) add(totals, evicted, -1);
      ring[next] = outcome;
      add(totals, outcome, 1);
      next = (next + 1) % size;
      recorded++;
      return totals;
    },
    lastEntry: () => recorded - 1,
    replace(entry, from, to) {
      if (!Number.isInteger(entry) || entry < recorded - size || entry >= recorded) return null;
      const slot = entry % size;
      const held = ring[slot];
      if (held === undefined || held.failed !== from.failed || held.slow !== from.slow) return null;
      ring[slot] = to;
      add(totals, from, -1);
      add(totals, to, 1);
      return totals;
    },
    counts: () => frozen(totals),
  };
}

/**
 * `size` one-second buckets covering the current second and the size-1 before it; an entry is
 * the second an outcome was recorded in, held until that second ages out. Buckets are
 * aged out on every read as well as every write, so an idle period empties the window instead
 * of leaving stale failures that trip the breaker on the next call (a Resilience4j complaint).
 * `now` should be monotonic; a reading that goes backwards counts as no time passing, so the
 * window keeps sliding at the clock's pace instead of freezing for the length of the step.
 */
export function createTimeWindow(size: number, clockNow: () => number): SlidingWindow {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`time window size must be a positive integer, got ${size}`);
  }
  const now = steady(clockNow);
  const secondOf = (ms: number) => Math.floor(ms / 1000);
  let head = secondOf(now());
  const buckets: MutableCounts[] = Array.from({ length: size }, zero);
  const totals = zero();

  const bucketAt = (second: number): MutableCounts =>
    buckets[((second % size) + size) % size] as MutableCounts;

  const clear = (b: MutableCounts) => {
    totals.total -= b.total;
    totals.failed -= b.failed;
    totals.slow -= b.slow;
    totals.slowFailed -= b.slowFailed;
    Object.assign(b, zero());
  };

  const catchUp = (): void => {
    const current = secondOf(now());
    if (current === head) return;
    // Bounded so an idle gap of any length costs at most one pass over the buckets.
    const steps = Math.min(current - head, size);
    for (let s = current - steps + 1; s <= current; s++) clear(bucketAt(s));
    head = current;
  };

  return {
    record(outcome) {
      catchUp();
      const b = bucketAt(head);
      add(b, outcome, 1);
      add(totals, outcome, 1);
      return totals;
    },
    lastEntry: () => head,
    replace(entry, from, to) {
      catchUp();
      if (!Number.isInteger(entry) || entry > head || head - entry >= size) return null;
      const b = bucketAt(entry);
      // A bucket holds counts, not outcomes: `from` must be among them to be taken out.
      if (countOf(b, from) === 0) return null;
      add(b, from, -1);
      add(b, to, 1);
      add(totals, from, -1);
      add(totals, to, 1);
      return totals;
    },
    counts() {
      catchUp();
      return frozen(totals);
    },
  };
}
