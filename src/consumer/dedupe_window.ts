/**
 * The consumer's memory of event ids it has processed: the last `capacity` distinct ids, oldest
 * first sighting forgotten first (a ring). The producer delivers at least once (a publish retried
 * after a lost acknowledgement, the relay republishing a row whose inline publish timed out), so
 * copies usually arrive close together; a copy of an id older than the window passes as new, and
 * so does any copy after a restart (the window lives in memory only).
 */
import { CONSUMER_SETTINGS } from "../settings/consumer.ts";

/** A bounded set of recently seen event ids. */
export interface DedupeWindow {
  /** Records `id` as seen; true when it was already in the window (a duplicate). */
  seen(id: string): boolean;
  /** Removes `id`, so its next copy counts as new (its processing failed and will be retried). */
  forget(id: string): void;
  /** How many ids the window holds now (never more than its capacity). */
  readonly size: number;
  /** The most ids it holds. */
  readonly capacity: number;
}

/** Creates an empty window that remembers at most `capacity` ids. */
export function createDedupeWindow(
  capacity: number = CONSUMER_SETTINGS.dedupeWindow.default,
): DedupeWindow {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }
  // A ring of slots plus id -> slot. Not a Map used as an LRU (delete the first key to evict):
  // V8 leaves deleted entries in place until it rehashes, so finding the first key scans them,
  // and a full 100,000-id window took 55 µs per id against 0.2 µs for this ring (measured with
  // 200,000 UUIDs through a window of 100,000).
  const ring: (string | undefined)[] = [];
  const slots = new Map<string, number>();
  let next = 0;
  return {
    seen(id: string): boolean {
      if (slots.has(id)) return true;
      const old = ring[next];
      if (old !== undefined) slots.delete(old);
      ring[next] = id;
      slots.set(id, next);
      next = (next + 1) % capacity;
      return false;
    },
    forget(id: string): void {
      const slot = slots.get(id);
      if (slot === undefined) return;
      ring[slot] = undefined;
      slots.delete(id);
    },
    get size() {
      return slots.size;
    },
    capacity,
  };
}
