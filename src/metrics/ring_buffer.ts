/** A fixed-size ring buffer: the newest `capacity` items, oldest first, in bounded memory. */

/** The newest items pushed, at most `capacity` of them. */
export interface RingBuffer<T> {
  readonly capacity: number;
  /** Items held, never more than `capacity`. */
  readonly size: number;
  /** Adds an item; when full, the oldest one is dropped. */
  push(item: T): void;
  /** The items held, oldest first (a copy). */
  toArray(): T[];
}

/** Creates an empty ring buffer; its one array is allocated here and never grows. */
export function createRingBuffer<T>(capacity: number): RingBuffer<T> {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new RangeError(`ring buffer capacity must be a positive integer, got ${capacity}`);
  }
  const items = new Array<T | undefined>(capacity).fill(undefined);
  let next = 0;
  let size = 0;
  return {
    capacity,
    get size() {
      return size;
    },
    push(item) {
      items[next] = item;
      next = next + 1 === capacity ? 0 : next + 1;
      if (size < capacity) size++;
    },
    toArray() {
      const first = size < capacity ? 0 : next;
      return Array.from({ length: size }, (_, k) => items[(first + k) % capacity] as T);
    },
  };
}
