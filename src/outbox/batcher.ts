/**
 * Natural batching: items submitted while a flush is running are collected and handed over
 * together in the next flush. An idle batcher flushes at once (no added latency at low load);
 * under load batches grow by themselves up to `maxBatch`, which is what turns many small
 * commits or Kafka sends into few large ones. `lingerMs` trades latency for batch size as Kafka's
 * `linger.ms` does: a batch smaller than `maxBatch` waits until its oldest item is that old.
 * `stalledAfterMs` keeps a hung handler from holding back everything behind it: a flush running
 * that long no longer counts against `concurrency` (up to `maxInFlight` flushes in all).
 */

/** Options of a batcher. */
export interface BatcherOptions {
  /** Largest batch handed to the handler. */
  maxBatch: number;
  /** Flushes allowed to run at the same time (1 keeps batches strictly in submission order). */
  concurrency?: number;
  /**
   * Longest a batch smaller than `maxBatch` waits for more items, counted from its oldest
   * item's submission (0: flush as soon as a flush may run).
   */
  lingerMs?: number;
  /**
   * A flush still running after this many ms stops counting against `concurrency`, so the next
   * batch may start (unset: a flush counts until it ends).
   */
  stalledAfterMs?: number;
  /** Flushes running at once, stalled ones included; default `concurrency`. */
  maxInFlight?: number;
}

/** Submits single items; each promise settles with its own item's result. */
export interface Batcher<I, O> {
  submit(item: I): Promise<O>;
  /** Items waiting plus items in running flushes. */
  readonly size: number;
}

interface Entry<I, O> {
  item: I;
  /** performance.now() at submission (read only when lingering). */
  at: number;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

/**
 * Creates a batcher over `handler`, which must return one result per item, in order. When the
 * handler throws, every item of that batch (and only that batch) rejects with the error.
 */
export function createBatcher<I, O>(
  handler: (items: I[]) => Promise<O[]>,
  opts: BatcherOptions,
): Batcher<I, O> {
  if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) {
    throw new RangeError(`maxBatch must be a positive integer, got ${opts.maxBatch}`);
  }
  const concurrency = opts.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  }
  const lingerMs = opts.lingerMs ?? 0;
  if (!Number.isFinite(lingerMs) || lingerMs < 0) {
    throw new RangeError(`lingerMs must be a non-negative number, got ${lingerMs}`);
  }
  const stalledAfterMs = opts.stalledAfterMs ?? Infinity;
  if (Number.isNaN(stalledAfterMs) || stalledAfterMs < 0) {
    throw new RangeError(`stalledAfterMs must be a non-negative number, got ${stalledAfterMs}`);
  }
  const maxInFlight = opts.maxInFlight ?? concurrency;
  if (!Number.isInteger(maxInFlight) || maxInFlight < concurrency) {
    throw new RangeError(
      `maxInFlight must be an integer >= concurrency (${concurrency}), got ${maxInFlight}`,
    );
  }
  const queue: Entry<I, O>[] = [];
  /** performance.now() at the start of each running flush. */
  const running = new Set<{ at: number }>();
  let inFlight = 0;
  let lingering: ReturnType<typeof setTimeout> | null = null;
  let stallWait: ReturnType<typeof setTimeout> | null = null;

  /** Running flushes that still hold a slot (not yet stalled) at `now`. */
  function holding(now: number): number {
    if (stalledAfterMs === Infinity) return running.size;
    let n = 0;
    for (const f of running) if (now - f.at < stalledAfterMs) n++;
    return n;
  }

  /** With every slot held, pump again when the oldest holder stalls (a completion pumps too). */
  function awaitStall(now: number): void {
    if (stalledAfterMs === Infinity || running.size >= maxInFlight) return;
    let first = Infinity;
    for (const f of running) first = Math.min(first, f.at + stalledAfterMs);
    stallWait = setTimeout(() => {
      stallWait = null;
      pump();
    }, Math.max(0, first - now));
  }

  async function flush(batch: Entry<I, O>[]): Promise<void> {
    try {
      const results = await handler(batch.map((e) => e.item));
      if (results.length !== batch.length) {
        throw new Error(
          `batch handler returned ${results.length} results for ${batch.length} items`,
        );
      }
      batch.forEach((e, i) => e.resolve(results[i] as O));
    } catch (err) {
      for (const e of batch) e.reject(err);
    }
  }

  function pump(): void {
    if (stallWait !== null) {
      clearTimeout(stallWait);
      stallWait = null;
    }
    while (queue.length > 0) {
      const now = performance.now();
      if (running.size >= maxInFlight || holding(now) >= concurrency) {
        awaitStall(now);
        return;
      }
      if (lingerMs > 0 && queue.length < opts.maxBatch) {
        const wait = queue[0]!.at + lingerMs - now;
        if (wait > 0) {
          lingering ??= setTimeout(() => {
            lingering = null;
            pump();
          }, wait);
          return;
        }
      }
      if (lingering !== null) {
        clearTimeout(lingering);
        lingering = null;
      }
      const batch = queue.splice(0, opts.maxBatch);
      const flight = { at: now };
      running.add(flight);
      inFlight += batch.length;
      flush(batch).finally(() => {
        running.delete(flight);
        inFlight -= batch.length;
        pump();
      });
    }
  }

  return {
    submit(item: I): Promise<O> {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject, at: lingerMs > 0 ? performance.now() : 0 });
        // A microtask lets submissions of the same tick join one batch.
        if (queue.length === 1 || (lingering !== null && queue.length >= opts.maxBatch)) {
          queueMicrotask(pump);
        }
      });
    },
    get size() {
      return queue.length + inFlight;
    },
  };
}
