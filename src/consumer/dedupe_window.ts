/**
 * The consumer's memory of event ids it has processed: the last `capacity` distinct ids, least
 * recently seen forgotten first. The producer delivers at least once (a publish retried after a
 * lost acknowledgement, the relay republishing a row whose inline publish timed out), so copies
 * usually arrive close together; a copy of an id older than the window passes as new, and so
 * does any copy after a restart (the window lives in memory only).
 */

/** Default number of event ids remembered (about 10 MB of UUID text and map entries). */
export const DEFAULT_DEDUPE_WINDOW = 100_000;

/** A bounded set of recently seen event ids. */
export interface DedupeWindow {
  /**
   * Records `id` as seen; true when it was already in the window (a duplicate). A duplicate
   * counts as a fresh sighting, so a burst of copies keeps its id remembered.
   */
  seen(id: string): boolean;
  /** Removes `id`, so its next copy counts as new (its processing failed and will be retried). */
  forget(id: string): void;
  /** How many ids the window holds now (never more than its capacity). */
  readonly size: number;
  /** The most ids it holds. */
  readonly capacity: number;
}

/** Creates an empty window that remembers at most `capacity` ids. */
export function createDedupeWindow(capacity: number = DEFAULT_DEDUPE_WINDOW): DedupeWindow {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }
  // A Map iterates in insertion order: re-inserting on a hit keeps the least recently seen
  // id first, so eviction is one delete of the first key (O(1), no separate ring).
  const ids = new Map<string, true>();
  return {
    seen(id: string): boolean {
      if (ids.delete(id)) {
        ids.set(id, true);
        return true;
      }
      ids.set(id, true);
      if (ids.size > capacity) ids.delete(ids.keys().next().value!);
      return false;
    },
    forget(id: string): void {
      ids.delete(id);
    },
    get size() {
      return ids.size;
    },
    capacity,
  };
}
